-- OpenCAP: users (alias$domain with a password), their addresses, and the server's own
-- signing keys for login tokens (in the database, so every process sharing it verifies the
-- same tokens).

CREATE TABLE cap_users (
    -- Random id, the `sub` of the user's tokens: a user deleted and signed up again under the
    -- same alias gets a new id, so the old tokens stay dead.
    id              TEXT   PRIMARY KEY NOT NULL,
    username        TEXT   NOT NULL,
    domain          TEXT   NOT NULL,
    password_hash   TEXT   NOT NULL,
    failed_logins   BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    created_at      BIGINT NOT NULL,
    UNIQUE (username, domain)
);

CREATE TABLE cap_addresses (
    user_id      TEXT    NOT NULL REFERENCES cap_users (id) ON DELETE CASCADE,
    address_type INTEGER NOT NULL,
    address      TEXT    NOT NULL,
    -- A JSON object, as sent.
    extensions   TEXT    NOT NULL,
    updated_at   BIGINT  NOT NULL,
    PRIMARY KEY (user_id, address_type)
);

CREATE TABLE signing_keys (
    kid        TEXT   PRIMARY KEY NOT NULL,
    alg        TEXT   NOT NULL,
    -- The HMAC key, base64url.
    secret     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    -- Set when the key stops signing; it keeps verifying until its tokens have expired.
    retired_at BIGINT
);
