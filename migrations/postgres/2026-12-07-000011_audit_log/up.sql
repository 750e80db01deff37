-- The audit trail (docs/audit.md): one row per management change, written in the change's own
-- transaction. Field names only in `changes`, never a value. Not tied to the organization by a
-- foreign key: an organization's deletion is itself recorded, and its trail outlives it until
-- audit.retention_days.
CREATE TABLE audit_log (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT  NOT NULL,
    org_id      BIGINT,
    org_name    TEXT,
    cap_user    TEXT,
    actor_kind  TEXT    NOT NULL,
    actor_id    TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    request_id  TEXT,
    client_ip   TEXT,
    changes     TEXT    NOT NULL,
    address_type BIGINT
);
-- The organization's listing, newest first, and its two filters; an OpenCAP user's own
-- entries; the retention purge.
CREATE INDEX audit_log_by_org ON audit_log (org_id, id);
CREATE INDEX audit_log_by_org_action ON audit_log (org_id, action, id);
CREATE INDEX audit_log_by_org_target ON audit_log (org_id, target, id);
CREATE INDEX audit_log_by_user ON audit_log (cap_user, id);
CREATE INDEX audit_log_by_at ON audit_log (at);
