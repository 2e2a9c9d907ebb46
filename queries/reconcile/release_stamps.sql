-- Annotation files whose stamp disagrees with the release's metadata.json: another
-- version key, or an export date more than 45 days from metadata.json's date (the
-- v2 files were exported 8 to 11 days after it; v1 files are months older), which
-- suggests files of different releases mixed in one folder.
WITH release AS (
    SELECT version, exported_on FROM release_files WHERE source_file = 'metadata.json'
)
SELECT
    f.source_file,
    coalesce(f.ds, f.date, f.version) AS stamp,
    CASE
        WHEN f.version IS NOT NULL AND r.version IS NOT NULL AND f.version <> r.version
            THEN 'version ' || f.version || ', metadata.json says ' || r.version
        ELSE 'exported ' || strftime(f.exported_on, '%Y-%m-%d') || ', '
             || abs(datediff('day', r.exported_on, f.exported_on))
             || ' days from metadata.json''s date ' || strftime(r.exported_on, '%Y-%m-%d')
    END AS reason
FROM release_files AS f, release AS r
WHERE f.source_file <> 'metadata.json'
  AND ((f.version IS NOT NULL AND r.version IS NOT NULL AND f.version <> r.version)
       OR abs(datediff('day', r.exported_on, f.exported_on)) > 45)
ORDER BY f.source_file;
