-- Organizations, their API keys (hashes only) and their aliases.
-- Timestamps are integer Unix seconds, as on the wire.

CREATE TABLE organizations (
    id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL
);

CREATE TABLE api_keys (
    id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id     BIGINT  NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- SHA-256 of the key, lower-case hex. The key itself is never stored.
    key_hash   TEXT    NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL
);
CREATE INDEX api_keys_by_org ON api_keys (org_id);

CREATE TABLE aliases (
    id                    TEXT   PRIMARY KEY NOT NULL,
    org_id                BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind                  TEXT   NOT NULL CHECK (kind IN ('conference', 'live')),
    name                  TEXT,
    passcode              TEXT,
    jwt_secret            TEXT,
    stream_key            TEXT,
    expired_at            BIGINT NOT NULL,
    inserted_at           BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    -- Secret rotation and token revocation (used by rotate-secret / revoke-tokens).
    previous_secret       TEXT,
    previous_secret_until BIGINT,
    tokens_valid_after    BIGINT
);
-- Keyset listing, newest first, per organization, with and without a type filter.
CREATE INDEX aliases_listing ON aliases (org_id, inserted_at DESC, id DESC);
CREATE INDEX aliases_listing_by_kind ON aliases (org_id, kind, inserted_at DESC, id DESC);
