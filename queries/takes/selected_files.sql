-- The manifest files a selection's downloads cover, one row per manifest path entry (the
-- CTE `picked` of download_files.sql and download_plan.sql), as the official `egoexo`
-- downloader picks them (ego4d/internal/download/cli.py, ego4d 1.7.3): per part, the
-- entries whose uid is in --uids; every entry of a part fetched without --uids.
-- With --cams, a file that belongs to a camera (manifest_files.camera) is kept only when
-- one of the named cameras is its camera:
--   * 'collage' keeps the preview videos (camera 'collage');
--   * a cam_id keeps that camera's files, in every take;
--   * 'best_exo' keeps, per take, the files of the camera takes.best_exo names;
--   * 'ego' / 'exo' keep the files of egocentric / exocentric cameras: is_ego of the
--     take's capture camera (take_videos), else the file's views, else an ariaNN name.
-- Files of no camera (VRS, trajectories, audio, captures, annotations, ...) are kept.
-- Parameters: the parts fetched with take_uids, with capture_uids, with expert-commentary
-- uids (<take_uid>_<expert>), and without --uids, each with its uid list (VARCHAR[]);
-- $by_camera (BOOLEAN: --cams given) and $cams (VARCHAR[]: its values, lower case).
WITH entries AS (
    SELECT part, uid, source_path, relative_path, size_bytes, views, camera
    FROM manifest_files
    WHERE (part IN (SELECT unnest($take_parts)) AND uid IN (SELECT unnest($take_uids)))
       OR (part IN (SELECT unnest($capture_parts)) AND uid IN (SELECT unnest($capture_uids)))
       OR (part IN (SELECT unnest($commentary_parts)) AND uid IN (SELECT unnest($commentary_uids)))
       OR part IN (SELECT unnest($whole_parts))
),
take_cameras AS (
    SELECT take_uid, cam_id, bool_or(is_ego) AS is_ego
    FROM take_videos
    GROUP BY ALL
)
SELECT e.part, e.uid, e.source_path, e.relative_path, e.size_bytes, e.views, e.camera
FROM entries AS e
LEFT JOIN takes AS t ON e.camera IS NOT NULL AND t.take_uid = e.uid
LEFT JOIN take_cameras AS c ON c.take_uid = e.uid AND c.cam_id = e.camera
WHERE NOT $by_camera
   OR e.camera IS NULL
   OR CASE
          WHEN e.camera = 'collage' THEN list_contains($cams::VARCHAR[], 'collage')
          ELSE list_contains($cams::VARCHAR[], e.camera)
               OR (list_contains($cams::VARCHAR[], 'best_exo') AND e.camera = t.best_exo)
               OR list_contains($cams::VARCHAR[],
                                CASE WHEN coalesce(c.is_ego,
                                                   list_contains(e.views, 'ego') AND NOT list_contains(e.views, 'exo'),
                                                   starts_with(e.camera, 'aria'))
                                     THEN 'ego' ELSE 'exo' END)
      END
