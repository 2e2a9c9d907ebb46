-- What the official `egoexo` downloader fetches for a selection, counted the way it
-- counts (ego4d/internal/download/cli.py, ego4d 1.7.3):
--   * per part it reads manifests/<part>/manifest.json and keeps the entries whose uid
--     is in --uids (all entries of a part fetched without --uids);
--   * it collects their paths; a path is one file per (source_path, relative_path)
--     (PathSpecification compares only those two), so a file listed twice counts once;
--   * a path with a size in the manifest is downloaded when that size is above 0; a path
--     without one (NULL) is sized from S3 first ("unknown" here) and skipped if S3 says 0.
-- Parameters: the parts fetched with take_uids, with capture_uids, with expert-commentary
-- uids (<take_uid>_<expert>), and without --uids, each with its uid list (VARCHAR[]).
-- One row per part and view, then the total (part NULL); view '-' is a path whose
-- views are NULL (collage, best_exo, non-video files: --views always keeps them).
WITH picked AS (
    SELECT part, uid, source_path, relative_path, size_bytes, views
    FROM manifest_files
    WHERE (part IN (SELECT unnest($take_parts)) AND uid IN (SELECT unnest($take_uids)))
       OR (part IN (SELECT unnest($capture_parts)) AND uid IN (SELECT unnest($capture_uids)))
       OR (part IN (SELECT unnest($commentary_parts)) AND uid IN (SELECT unnest($commentary_uids)))
       OR part IN (SELECT unnest($whole_parts))
),
files AS (
    -- one row per distinct file; a file listed by several entries keeps the first part
    -- and view in sort order and its largest size (the downloader keeps a positive one)
    SELECT
        coalesce(source_path, '') AS source_path,
        relative_path,
        min(part) AS part,
        arg_min(coalesce(array_to_string(list_sort(views), '+'), '-'), part) AS view,
        max(size_bytes) AS size_bytes
    FROM picked
    GROUP BY ALL
),
entries AS (
    SELECT part, count(DISTINCT uid) AS uids FROM picked GROUP BY part
),
counted AS (
    SELECT
        part,
        view,
        count(*) FILTER (WHERE size_bytes > 0 OR size_bytes IS NULL) AS files,
        coalesce(sum(size_bytes) FILTER (WHERE size_bytes > 0), 0) AS bytes,
        count(*) FILTER (WHERE size_bytes IS NULL) AS unknown_size_files,
        count(*) FILTER (WHERE size_bytes = 0) AS zero_size_files
    FROM files
    GROUP BY GROUPING SETS ((part, view), ())
)
-- uids: entries of the part that matched (the same for each view row of a part)
SELECT counted.*, entries.uids
FROM counted LEFT JOIN entries USING (part)
ORDER BY part NULLS LAST, view
