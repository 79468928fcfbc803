-- The search index's words as one tsvector per text (desk/store/pg/search.py), GIN-indexed,
-- instead of a row of search_words per word: a message of 80 words was 80 rows and 80 b-tree
-- entries written from Python on the applier's path (docs/performance.md, issue 9). The words are
-- desk.search's, folded in Python as before and given as lexemes (array_to_tsvector: no parser,
-- no stemming, no stop words), each cut to desk.search.MAX_TERM characters, the most a query's
-- term holds; a term finds a word by byte prefix (tsquery 'term':*), one letter that word only.
ALTER TABLE search_texts ADD COLUMN words tsvector NOT NULL DEFAULT ''::tsvector;
UPDATE search_texts t SET words = w.words
FROM (
    SELECT conversation_id, message_id, array_to_tsvector(array_agg(DISTINCT left(word, 64))) AS words
    FROM search_words WHERE word <> '' GROUP BY conversation_id, message_id
) w
WHERE t.conversation_id = w.conversation_id AND t.message_id = w.message_id;
CREATE INDEX search_texts_words ON search_texts USING gin (words);
DROP TABLE search_words;
