-- A conversation's document as the store writes it (orjson's UTF-8 bytes) instead of jsonb:
-- nothing queries inside a document, and as jsonb PostgreSQL parsed and re-encoded the whole of
-- it (every message of the conversation) on each write, and psycopg parsed it back on each read
-- (docs/performance.md, issue 9). lz4 where the server has it: several times cheaper than the
-- default pglz on documents of tens of kilobytes.
ALTER TABLE conversations ALTER COLUMN document TYPE bytea USING convert_to(document::text, 'UTF8');
DO $$
BEGIN
    ALTER TABLE conversations ALTER COLUMN document SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    NULL;  -- a server built without lz4 keeps its default compression
END
$$;
