-- SQLite only: what each change invalidated, in commit order, so that every process on this
-- file (the server, the CLI, another server) hears it and drops its cached copy — the part of
-- PostgreSQL's NOTIFY that SQLite lacks (docs/deployment.md, "Cache freshness"). Written in the
-- change's transaction; read by each server's listener when `PRAGMA data_version` moves;
-- rows older than an hour are deleted by the purge. PostgreSQL has no such table.
CREATE TABLE cache_invalidations (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    what TEXT   NOT NULL,
    at   BIGINT NOT NULL
);
