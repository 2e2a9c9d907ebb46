-- What the official `egoexo` downloader fetches for a selection, counted the way it
-- counts (ego4d/internal/download/cli.py, ego4d 1.7.3), from the CTEs `picked` (the
-- manifest entries of the selection, selected_files.sql) and `files` (one row per file,
-- download_files.sql): a file with a size in the manifest is downloaded when that size
-- is above 0; a file without one (NULL) is sized from S3 first ("unknown" here) and
-- skipped if S3 says 0.
-- One row per part and view, then the total (part NULL); view '-' is a file whose
-- views are NULL (collage, best_exo, non-video files: --views always keeps them).
-- uids: the entries of the part that matched (the same for each view row of a part).
SELECT counted.*, entries.uids
FROM (
    SELECT
        part,
        view,
        count(*) FILTER (WHERE size_bytes > 0 OR size_bytes IS NULL) AS files,
        coalesce(sum(size_bytes) FILTER (WHERE size_bytes > 0), 0) AS bytes,
        count(*) FILTER (WHERE size_bytes IS NULL) AS unknown_size_files,
        count(*) FILTER (WHERE size_bytes = 0) AS zero_size_files
    FROM (
        SELECT part, coalesce(array_to_string(list_sort(views), '+'), '-') AS view, size_bytes
        FROM files
    )
    GROUP BY GROUPING SETS ((part, view), ())
) AS counted
LEFT JOIN (SELECT part, count(DISTINCT uid) AS uids FROM picked GROUP BY part) AS entries USING (part)
ORDER BY part NULLS LAST, view
