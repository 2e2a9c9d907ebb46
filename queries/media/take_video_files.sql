-- The video files of one take where the egoexo downloader puts them (paths relative to
-- the release folder, as in manifest_files.relative_path), with their sizes from the
-- manifests when the catalog has them: per entry of take_videos with a video, the
-- frame-aligned file (part takes: <root_dir>/<relative_path>) and its downscaled copy
-- (part downscaled_takes/448: <root_dir>/frame_aligned_videos/downscaled/448/<file name>).
-- Ordered as the player offers them: the best exo camera first, the other exo cameras,
-- the ego RGB stream, the collages, the other ego streams; frame-aligned before downscaled.
-- Parameter: $take_uid (NULL: every take).
WITH entries AS (
    SELECT v.take_uid, v.cam_id, v.stream, v.readable_stream_id, v.is_ego, coalesce(v.is_collage, false) AS is_collage,
           t.root_dir, v.relative_path, t.best_exo,
           CASE
               WHEN v.cam_id = t.best_exo THEN 0
               WHEN coalesce(v.is_collage, false) THEN 3
               WHEN v.is_ego IS NOT TRUE AND NOT starts_with(v.cam_id, 'aria') THEN 1
               WHEN v.readable_stream_id = 'rgb' OR v.stream = 'rgb' THEN 2
               ELSE 4
           END AS rank
    FROM take_videos AS v
    JOIN takes AS t USING (take_uid)
    WHERE ($take_uid IS NULL OR v.take_uid = $take_uid) AND v.relative_path IS NOT NULL
),
files AS (
    SELECT *, 'takes' AS part, 0 AS variant_rank,
           root_dir || '/' || relative_path AS path
    FROM entries
    UNION ALL
    SELECT *, 'downscaled_takes/448', 1,
           root_dir || '/frame_aligned_videos/downscaled/448/' || regexp_extract(relative_path, '[^/]+$')
    FROM entries
)
SELECT f.take_uid, f.cam_id, f.stream, f.readable_stream_id, f.is_ego, f.is_collage, f.cam_id = f.best_exo AS is_best_exo,
       f.part, f.path, m.size_bytes
FROM files AS f
LEFT JOIN (
    SELECT uid, part, relative_path, max(size_bytes) AS size_bytes
    FROM manifest_files
    WHERE ($take_uid IS NULL OR uid = $take_uid) AND part IN ('takes', 'downscaled_takes/448')
    GROUP BY ALL
) AS m ON m.uid = f.take_uid AND m.part = f.part AND m.relative_path = f.path
ORDER BY f.take_uid, f.rank, f.cam_id, f.stream, f.variant_rank
