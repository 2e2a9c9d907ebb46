-- The semi-dense point cloud files the downloader's manifests list (parts take_point_cloud
-- and capture_point_cloud): never compiled (6.2 TB); sizes as the manifests state them.
-- Catalog.point_cloud(take) reads one take's points.
CREATE OR REPLACE VIEW point_clouds AS
SELECT
    t.take_uid,
    CASE WHEN m.part = 'capture_point_cloud' THEN m.uid END AS capture_uid,
    m.part,
    m.relative_path,
    CASE
        WHEN m.relative_path LIKE '%semidense_observations.csv.gz' THEN 'observations'
        ELSE 'points'
    END AS kind,
    m.size_bytes,
    CAST(NULL AS BIGINT) AS n_points
FROM manifest_files AS m
LEFT JOIN takes AS t ON m.part = 'take_point_cloud' AND t.take_uid = m.uid
WHERE m.part IN ('take_point_cloud', 'capture_point_cloud')
ORDER BY m.part, m.relative_path;
