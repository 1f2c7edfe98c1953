-- Messages exactly as received: message_id is the idempotency key, and ts is echoed verbatim.
-- ts_key is the same instant normalised (UTC, nanoseconds, fixed width) so that it sorts and
-- compares as text; every ordering and `since` filter uses it.
CREATE TABLE messages (
    message_id  TEXT PRIMARY KEY,
    from_msisdn TEXT NOT NULL,
    to_msisdn   TEXT NOT NULL,
    ts          TEXT NOT NULL,
    text        TEXT,
    created_at  TEXT NOT NULL,
    ts_key      TEXT NOT NULL
);

-- The listing order (ts, then message_id) and the `since` range.
CREATE INDEX messages_by_ts ON messages (ts_key, message_id);
-- The `from` filter, already in listing order.
CREATE INDEX messages_by_sender ON messages (from_msisdn, ts_key, message_id);

-- /stats reads aggregates kept current in the inserting transaction, never a scan.
CREATE TABLE sender_counts (
    from_msisdn   TEXT PRIMARY KEY,
    message_count INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sender_counts_by_count ON sender_counts (message_count DESC, from_msisdn);

CREATE TABLE totals (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    messages INTEGER NOT NULL,
    senders  INTEGER NOT NULL
);
INSERT INTO totals (id, messages, senders) VALUES (1, 0, 0);

-- Rows are only ever inserted (there is no update or delete path), so one trigger keeps both.
CREATE TRIGGER messages_keep_aggregates AFTER INSERT ON messages
BEGIN
    INSERT INTO sender_counts (from_msisdn, message_count) VALUES (NEW.from_msisdn, 1)
        ON CONFLICT (from_msisdn) DO UPDATE SET message_count = message_count + 1;
    UPDATE totals
       SET messages = messages + 1,
           senders = senders + (SELECT message_count = 1 FROM sender_counts
                                 WHERE from_msisdn = NEW.from_msisdn)
     WHERE id = 1;
END;
