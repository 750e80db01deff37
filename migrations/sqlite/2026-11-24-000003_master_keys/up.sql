-- The ids of the master keys that have encrypted values in this database (secrets at rest).
-- A server that lacks one of them refuses to start, instead of failing on the first read.
CREATE TABLE master_keys (
    kid           TEXT   PRIMARY KEY NOT NULL,
    first_used_at BIGINT NOT NULL
);
