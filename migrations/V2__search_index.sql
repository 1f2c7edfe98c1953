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

-- How far the index goes: every row with a rowid up to `indexed_through` is in it, none after.
-- Rows are only ever appended (rowids grow), so the rows after it are exactly the ones stored
-- since, by whatever means; every search reads them as candidates too, and the writer indexes
-- them in steps when it is idle. Starting at 0, rows stored before this migration are indexed
-- the same way, after start-up.
CREATE TABLE search_progress (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_through INTEGER NOT NULL
);
INSERT INTO search_progress (id, indexed_through) VALUES (1, 0);
