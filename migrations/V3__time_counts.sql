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

-- Kept current in the inserting transaction, like the other aggregates (rows are never
-- updated or deleted).
CREATE TRIGGER messages_keep_time_counts AFTER INSERT ON messages
BEGIN
    INSERT INTO time_counts (prefix_length, prefix, message_count)
    VALUES (10, substr(NEW.ts_key, 1, 10), 1)
        ON CONFLICT (prefix_length, prefix) DO UPDATE SET message_count = message_count + 1;
    INSERT INTO time_counts (prefix_length, prefix, message_count)
    VALUES (16, substr(NEW.ts_key, 1, 16), 1)
        ON CONFLICT (prefix_length, prefix) DO UPDATE SET message_count = message_count + 1;
END;
