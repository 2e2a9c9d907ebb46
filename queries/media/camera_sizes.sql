-- Bytes of one take's files of one camera per video part, from the downloader manifests
-- (what `egoexo-sql takes --cams CAM --parts PART --format s3` fetches for it).
-- Parameter: $take_uid.
SELECT camera, part, count(*) AS files, sum(size_bytes) AS size_bytes
FROM (
    SELECT DISTINCT part, relative_path, camera, size_bytes
    FROM manifest_files
    WHERE uid = $take_uid AND camera IS NOT NULL AND part IN ('takes', 'downscaled_takes/448')
)
GROUP BY ALL
ORDER BY camera, part
