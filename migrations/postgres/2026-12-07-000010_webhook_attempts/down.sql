ALTER TABLE webhooks DROP COLUMN failing_since;
DROP INDEX webhook_deliveries_by_alias;
ALTER TABLE webhook_deliveries DROP COLUMN alias_id;
DROP TABLE webhook_attempts;
