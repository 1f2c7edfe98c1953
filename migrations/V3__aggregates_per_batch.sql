-- The aggregates are kept by the writer, once per committed batch, instead of by a trigger once
-- per row (storage::writer::insert_messages). A trigger makes every insert a multi-statement
-- write that SQLite protects with a statement journal, and runs its statements per row; doing
-- the same sums per batch took the insert's CPU per message from about 45 us to about 23 us (a
-- harness inserting batches of 25 with synchronous=FULL). The sums are still made in the
-- inserting transaction, so they commit (or not) with the rows.
DROP TRIGGER messages_keep_aggregates;

-- The ten busiest senders, kept as a table of ten rows rather than an index over every
-- sender's count, which moved an entry on a random page for every message. A batch can only
-- promote senders it touched, so the new top ten is always among the old ten and those.
DROP INDEX sender_counts_by_count;
CREATE TABLE top_senders (
    from_msisdn   TEXT PRIMARY KEY,
    message_count INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO top_senders (from_msisdn, message_count)
SELECT from_msisdn, message_count FROM sender_counts
 ORDER BY message_count DESC, from_msisdn
 LIMIT 10;

-- The `total` of a `since` filter without counting the matching rows one by one: how many
-- messages each day and each minute holds, by prefix of `ts_key` (fixed width, so a prefix is a
-- calendar unit: 10 characters a day, 16 a minute). A count from an instant on is the days after
-- its day, plus the minutes after its minute within its day, plus the rows of its own minute
-- from the instant on: a few hundred counter rows at most, and one minute of the index.
CREATE TABLE time_counts (
    prefix_length INTEGER NOT NULL,
    prefix        TEXT NOT NULL,
    message_count INTEGER NOT NULL,
    PRIMARY KEY (prefix_length, prefix)
) WITHOUT ROWID;
INSERT INTO time_counts (prefix_length, prefix, message_count)
SELECT 10, substr(ts_key, 1, 10), count(*) FROM messages GROUP BY substr(ts_key, 1, 10);
INSERT INTO time_counts (prefix_length, prefix, message_count)
SELECT 16, substr(ts_key, 1, 16), count(*) FROM messages GROUP BY substr(ts_key, 1, 16);
