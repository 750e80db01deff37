-- Background jobs shared by every server on the database: a job runs when a server moves its
-- last_run forward with a compare-and-set, so one pass runs once, whichever server wins.
CREATE TABLE jobs (
    name     TEXT   PRIMARY KEY NOT NULL,
    last_run BIGINT NOT NULL
);
-- The purge deletes aliases by expiry.
CREATE INDEX aliases_by_expiry ON aliases (expired_at);
