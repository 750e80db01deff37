-- Wrong passcodes per alias (client = '') and per alias and client address, counted in the
-- database so that the budget holds across every server (docs/security.md, "Passcodes").
CREATE TABLE passcode_failures (
    alias_id      TEXT   NOT NULL REFERENCES aliases (id) ON DELETE CASCADE,
    client        TEXT   NOT NULL,
    -- The current window: when it began, and the wrong passcodes in it.
    window_start  BIGINT NOT NULL,
    failures      BIGINT NOT NULL,
    -- Passcode attempts are refused until then.
    blocked_until BIGINT,
    -- How many times in a row the budget was spent (the block doubles each time).
    strikes       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (alias_id, client)
);
