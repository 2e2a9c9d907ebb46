-- The 2D keypoints of one take in one camera, first rater of each frame (annotation_idx
-- 0), for the pose overlay of the web browser: per kind (body, hand), the manual
-- annotation where the take has one for that camera, else the automatic one.
-- Parameters: $take_uid, $cam_id.
WITH points AS (
    SELECT kind, source, frame_number, joint, x, y
    FROM ego_pose_2d
    WHERE take_uid = $take_uid AND cam_id = $cam_id AND annotation_idx = 0
      AND x IS NOT NULL AND y IS NOT NULL
),
chosen AS (
    SELECT kind, min(source) AS source  -- 'annotation' < 'automatic'
    FROM points
    GROUP BY kind
)
SELECT p.kind, p.source, p.frame_number, p.joint, p.x, p.y
FROM points AS p
JOIN chosen AS c USING (kind, source)
ORDER BY p.kind, p.frame_number, p.joint
