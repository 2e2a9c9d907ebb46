-- The signal lanes of the take page's timeline (egoexo-sql serve), one value per $bucket
-- seconds: 'speed' is the distance walked in the bucket over its duration (m/s, from
-- motion_bins), 'gaze yaw' and 'gaze pitch' the mean general eye gaze angles (degrees,
-- from gaze_bins, in the central pupil frame as eye_gaze has them).
SELECT 'speed' AS lane, (bin // ($bucket * 10)) * $bucket AS take_sec,
       sum(path_m) / (count(*) * 0.1) AS value
FROM motion_bins
WHERE take_uid = $take_uid
GROUP BY ALL
UNION ALL
SELECT 'gaze yaw', (bin // ($bucket * 10)) * $bucket, degrees(sum(mean_yaw * n) / sum(n))
FROM gaze_bins
WHERE take_uid = $take_uid AND kind = 'general'
GROUP BY ALL
UNION ALL
SELECT 'gaze pitch', (bin // ($bucket * 10)) * $bucket, degrees(sum(mean_pitch * n) / sum(n))
FROM gaze_bins
WHERE take_uid = $take_uid AND kind = 'general'
GROUP BY ALL
ORDER BY lane, take_sec;
