-- `q` (a case-insensitive substring of `text`) without reading every text: a trigram index that
-- narrows the rows down to candidates, which `contains_ci` then decides, exactly as without it.
--
-- What is indexed is each text lower-cased by Rust (the `search_fold` SQL function, the same
-- lower case `contains_ci` compares), so the index and the final check cannot disagree about
-- case; the tokenizer itself folds nothing (`case_sensitive 1`). A query asks for a few of the
-- needle's trigrams, all of which any true match contains. Contentless (the texts stay in
-- `messages` only), without positions or sizes: only "which rows hold this trigram" is needed.
CREATE VIRTUAL TABLE message_search USING fts5 (
    text_folded,
    content = '',
    tokenize = 'trigram case_sensitive 1',
    detail = none,
    columnsize = 0
);

-- Rows not yet in the index. The trigger records every new row with a text here, in the
-- inserting transaction, whoever inserts it; the writer moves them into the index in steps,
-- between commits, because the index's cost per row is many times lower in steps of a thousand
-- rows than one commit at a time. Searches read this table as candidates too, so a row is
-- found the moment it is committed, indexed or not.
CREATE TABLE message_search_pending (
    message_rowid INTEGER PRIMARY KEY
);

CREATE TRIGGER messages_queue_for_search AFTER INSERT ON messages
WHEN NEW.text IS NOT NULL
BEGIN
    INSERT INTO message_search_pending (message_rowid) VALUES (NEW.rowid);
END;

-- Rows stored before this migration are indexed the same way, after start-up.
INSERT INTO message_search_pending (message_rowid)
SELECT rowid FROM messages WHERE text IS NOT NULL;
