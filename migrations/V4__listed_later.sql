-- Durable append first, list later. A new row is stored with `listed = 0`: it goes into the
-- table and its primary key (the idempotency key, which must be checked before the answer) and
-- nothing else. The writer later "lists" the rows stored since `list_progress.listed_through`
-- in one step: sets `listed = 1` (which puts them into the two listing indexes, partial on
-- `listed`) and adds them to the aggregates, then moves the mark. Every read merges the listed
-- rows (indexes, aggregates) with the few rows after the mark (a rowid range), so answers are
-- exactly those of a table whose indexes and sums were kept in the inserting transaction.
--
-- Existing rows count as listed (the default) without rewriting the table; the two indexes are
-- built again, once, as partial ones over the same columns and `listed` last: SQLite reads a
-- query's `listed` term from the index only when the index holds the column, so without it
-- every listing read (a page's keys, a count) would look up each row in the table.
ALTER TABLE messages ADD COLUMN listed INTEGER NOT NULL DEFAULT 1;

DROP INDEX messages_by_ts;
DROP INDEX messages_by_sender;
CREATE INDEX messages_by_ts ON messages (ts_key, message_id, listed) WHERE listed;
CREATE INDEX messages_by_sender ON messages (from_msisdn, ts_key, message_id, listed) WHERE listed;

-- Every row with a rowid up to `listed_through` is listed (in the indexes and the aggregates),
-- none after it.
CREATE TABLE list_progress (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    listed_through INTEGER NOT NULL
);
INSERT INTO list_progress (id, listed_through)
VALUES (1, coalesce((SELECT max(rowid) FROM messages), 0));
