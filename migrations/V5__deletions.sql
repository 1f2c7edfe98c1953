-- How many times rows have been deleted: every transaction that deletes messages (prune, in the
-- server's writer or `app prune`; there is no other way out) adds one, in the same transaction.
--
-- Why: rows are otherwise only appended, and a new rowid is always above every rowid stored
-- before it (SQLite gives the highest rowid + 1). So while this number stays the same, the
-- rows with rowids up to any n are the same rows in every later snapshot, and a count made over
-- them stays true: a search's exact total is the one remembered at rowid n plus the matches
-- among the rows after n (see src/storage/search.rs). A delete may give a freed rowid to the
-- next row, so it must make every remembered count stale: it moves this number.
CREATE TABLE deletions (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    count INTEGER NOT NULL
);
INSERT INTO deletions (id, count) VALUES (1, 0);
