-- The principal point (cx, cy) of one take's camera, from the camera pose files: the
-- undistorted image the 2D keypoints are measured in is about twice that size.
-- Parameters: $take_uid, $cam_id.
SELECT intrinsics[1][3] AS cx, intrinsics[2][3] AS cy
FROM camera_poses
WHERE take_uid = $take_uid AND cam_id = $cam_id AND intrinsics IS NOT NULL
LIMIT 1
