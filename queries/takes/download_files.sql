-- One row per file the downloader fetches for the picked entries (selected_files.sql, the
-- CTE `picked`): egoexo keeps one file per (source_path, relative_path) (PathSpecification
-- compares only those two), so a file several entries list is one file, under its first
-- part and uid in sort order and with its largest size (the downloader keeps a positive
-- one). Files of size 0 are listed too: egoexo skips them, and so do the file lists.
-- Sorted by part and relative_path.
SELECT part, uid, relative_path, size_bytes, source_path, views, camera
FROM (
    SELECT
        part, uid, relative_path, source_path, views, camera,
        max(size_bytes) OVER same_file AS size_bytes,
        row_number() OVER (same_file ORDER BY part, uid) AS nth
    FROM picked
    WINDOW same_file AS (PARTITION BY coalesce(source_path, ''), relative_path)
)
WHERE nth = 1
ORDER BY part, relative_path
