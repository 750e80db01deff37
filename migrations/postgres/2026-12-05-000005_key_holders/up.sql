-- The processes serving this database and the master keys each holds (ids only), so that a
-- server seals new values only under a key every live server can open, and
-- `aliaskit keys rotate-master` re-encrypts only once every server seals with the new key.
-- A row is refreshed every few seconds; one not seen for a while is a server that is gone.
CREATE TABLE key_holders (
    id       TEXT   PRIMARY KEY NOT NULL,
    -- Host name and process id, for `aliaskit keys status` and messages.
    host     TEXT   NOT NULL,
    pid      BIGINT NOT NULL,
    -- The key ids it holds, comma-separated, in its order of preference.
    key_ids  TEXT   NOT NULL,
    -- The key id it seals new values with.
    sealing  TEXT   NOT NULL,
    seen_at  BIGINT NOT NULL
);
