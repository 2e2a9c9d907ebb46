-- Each keystep segment with what else was said or seen during it: the atomic
-- descriptions (of annotations not rejected), expert commentary and transcript segments
-- whose time falls inside it (boundaries inclusive; a transcript segment by its start),
-- in time order, and the number of annotated body and hand pose frames inside it
-- (pose frame numbers index the take's 30 fps frame-aligned video); with a trajectory, the
-- distance travelled, mean speed and head turn inside it, and with eye gaze the spread of
-- the gaze directions (from the 100 ms bins of motion_bins and gaze_bins: bins
-- floor(start_time * 10) to ceil(end_time * 10) - 1, so the bounds are those of the
-- segment to within 0.1 s).
CREATE OR REPLACE VIEW keystep_context AS
WITH
atomic AS (
    SELECT s.take_uid, s.segment_idx,
           list(a.text ORDER BY a."timestamp", a.annotation_uid, a.description_idx) AS texts
    FROM keystep_segments AS s
    JOIN atomic_descriptions AS a
      ON a.take_uid = s.take_uid AND a."timestamp" BETWEEN s.start_time AND s.end_time
    WHERE a.rejected IS DISTINCT FROM true AND a.text IS NOT NULL
    GROUP BY ALL
),
commentary AS (
    SELECT s.take_uid, s.segment_idx,
           list(c.text ORDER BY c.video_time, c.commentary_id, c.recording_idx) AS texts
    FROM keystep_segments AS s
    JOIN expert_commentary AS c
      ON c.take_uid = s.take_uid AND c.video_time BETWEEN s.start_time AND s.end_time
    WHERE c.text IS NOT NULL
    GROUP BY ALL
),
narration AS (
    SELECT s.take_uid, s.segment_idx,
           list(n.text ORDER BY n.start_time, n.cam_id, n.segment_idx) AS texts
    FROM keystep_segments AS s
    JOIN narrations AS n
      ON n.take_uid = s.take_uid AND n.start_time BETWEEN s.start_time AND s.end_time
    WHERE n.text IS NOT NULL
    GROUP BY ALL
),
pose_frames AS (  -- one row per annotated frame of a take and kind
    SELECT DISTINCT take_uid, kind, frame_number FROM ego_pose_3d
),
pose AS (
    SELECT s.take_uid, s.segment_idx,
           count(*) FILTER (WHERE p.kind = 'body') AS n_body,
           count(*) FILTER (WHERE p.kind = 'hand') AS n_hand
    FROM keystep_segments AS s
    JOIN pose_frames AS p
      ON p.take_uid = s.take_uid AND p.frame_number / 30.0 BETWEEN s.start_time AND s.end_time
    GROUP BY ALL
),
motion AS (
    SELECT s.take_uid, s.segment_idx, sum(b.path_m) AS path_m, sum(b.turn_rad) AS turn_rad
    FROM keystep_segments AS s
    JOIN motion_bins AS b
      ON b.take_uid = s.take_uid AND b.bin >= floor(s.start_time * 10) AND b.bin < ceil(s.end_time * 10)
    GROUP BY ALL
),
gaze AS (
    SELECT s.take_uid, s.segment_idx, sum(g.n) AS n, sum(g.sum_x) AS sx, sum(g.sum_y) AS sy, sum(g.sum_z) AS sz
    FROM keystep_segments AS s
    JOIN gaze_bins AS g
      ON g.take_uid = s.take_uid AND g.kind = 'general'
     AND g.bin >= floor(s.start_time * 10) AND g.bin < ceil(s.end_time * 10)
    GROUP BY ALL
)
SELECT
    s.*,
    coalesce(atomic.texts, CAST([] AS VARCHAR[])) AS atomic_texts,
    coalesce(commentary.texts, CAST([] AS VARCHAR[])) AS commentary_texts,
    coalesce(narration.texts, CAST([] AS VARCHAR[])) AS narration_texts,
    coalesce(pose.n_body, 0) AS n_body_pose_frames,
    coalesce(pose.n_hand, 0) AS n_hand_pose_frames,
    motion.path_m AS path_length_m,
    motion.path_m / nullif(s.end_time - s.start_time, 0) AS mean_speed_mps,
    motion.turn_rad AS head_turn_rad,
    -- the angular standard deviation of the unit gaze directions: sqrt(-2 ln R), R the
    -- length of their mean (0 when every sample looks the same way)
    CASE WHEN gaze.n > 1 THEN
        sqrt(-2 * ln(least(1.0, sqrt(gaze.sx * gaze.sx + gaze.sy * gaze.sy + gaze.sz * gaze.sz) / gaze.n)))
    END AS gaze_dispersion_rad
FROM keystep_segments AS s
LEFT JOIN atomic USING (take_uid, segment_idx)
LEFT JOIN commentary USING (take_uid, segment_idx)
LEFT JOIN narration USING (take_uid, segment_idx)
LEFT JOIN pose USING (take_uid, segment_idx)
LEFT JOIN motion USING (take_uid, segment_idx)
LEFT JOIN gaze USING (take_uid, segment_idx)
ORDER BY s.take_uid, s.segment_idx;
