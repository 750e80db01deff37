-- The webhook outbox (docs/webhooks.md): one row per event, written in the same transaction as
-- the change it reports, so a change that rolls back reports nothing. `seq` orders the events
-- (per alias too); `payload` is the delivered body, with no secret in it.
CREATE TABLE webhook_events (
    seq        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    org_id     BIGINT  NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    event_type TEXT    NOT NULL,
    alias_id   TEXT,
    payload    TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX webhook_events_by_org ON webhook_events (org_id, seq);
