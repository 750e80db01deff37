-- Every attempt of a webhook delivery, for `GET …/webhooks/:id/deliveries` (docs/webhooks.md);
-- the alias of each delivery, so a claim keeps the order per alias; and since when an endpoint
-- has been failing without a success, to disable it after a day.
CREATE TABLE webhook_attempts (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    delivery_id     BIGINT  NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    event_id        TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    -- 1 for the first attempt of the delivery.
    attempt         BIGINT  NOT NULL,
    status          BIGINT,
    error           TEXT,
    duration_ms     BIGINT  NOT NULL,
    -- When the delivery is tried again after this attempt, if it is.
    next_attempt_at BIGINT,
    delivered_at    BIGINT,
    at              BIGINT  NOT NULL
);
CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts (webhook_id, id);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id);

ALTER TABLE webhook_deliveries ADD COLUMN alias_id TEXT;
UPDATE webhook_deliveries
   SET alias_id = (SELECT e.alias_id FROM webhook_events e WHERE e.seq = webhook_deliveries.event_seq);
CREATE INDEX webhook_deliveries_by_alias ON webhook_deliveries (webhook_id, alias_id, id);

ALTER TABLE webhooks ADD COLUMN failing_since BIGINT;
