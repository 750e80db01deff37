-- An organization's webhook endpoints (docs/webhooks.md). The signing secrets are sealed like
-- the aliases' secrets (`v1.<kid>.…`, bound to table/row/column).
CREATE TABLE webhooks (
    id                    TEXT    PRIMARY KEY NOT NULL,
    org_id                BIGINT  NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url                   TEXT    NOT NULL,
    -- `*`, or the subscribed event names, comma-separated.
    events                TEXT    NOT NULL,
    description           TEXT,
    secret                TEXT    NOT NULL,
    -- The secret before the last rotation, signing alongside until previous_secret_until.
    previous_secret       TEXT,
    previous_secret_until BIGINT,
    enabled               BOOLEAN NOT NULL,
    created_at            BIGINT  NOT NULL,
    updated_at            BIGINT  NOT NULL
);
CREATE INDEX webhooks_by_org ON webhooks (org_id, created_at, id);
