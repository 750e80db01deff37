-- One delivery per webhook event and subscribed endpoint (docs/webhooks.md), written with the
-- event in the change's transaction; claimed by a sender with a lease (lease_until), retried
-- at next_attempt_at until delivered or failed.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    event_seq       BIGINT  NOT NULL REFERENCES webhook_events (seq) ON DELETE CASCADE,
    webhook_id      TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        BIGINT  NOT NULL,
    next_attempt_at BIGINT  NOT NULL,
    lease_until     BIGINT,
    last_status     BIGINT,
    last_error      TEXT,
    delivered_at    BIGINT,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at, id);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
