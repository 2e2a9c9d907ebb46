-- What happens during a keystep
-- Which Cooking keysteps have the most atomic descriptions said during them, what are
-- the first of them, and how many annotated pose frames fall inside each?
SELECT
    k.step_name,
    round(k.end_time - k.start_time, 1) AS seconds,
    len(k.atomic_texts) AS n_descriptions,
    k.atomic_texts[1:2] AS first_descriptions,
    k.n_body_pose_frames + k.n_hand_pose_frames AS pose_frames
FROM keystep_context AS k
JOIN takes AS t USING (take_uid)
WHERE t.scenario = 'Cooking' AND len(k.atomic_texts) > 0
ORDER BY n_descriptions DESC, k.take_uid, k.segment_idx
LIMIT 5;
