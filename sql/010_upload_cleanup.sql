-- Expired uploads are removed by the worker: the job upload_cleanup, planned every hour. An
-- open upload lives 48 hours (UPLOAD_LIFETIME_HOURS in agent-api/upload.c); an hour more on
-- disk is nothing, and the job is cheap when nothing has expired. The files are removed by
-- the worker in C (agent-api/upload.c upload_expire), since the database never sees the
-- document store; each removal is an audit entry 'upload.expired' by 'system'.

ALTER TABLE job DROP CONSTRAINT job_kind_check;
ALTER TABLE job ADD CONSTRAINT job_kind_check
  CHECK (kind IN ('visit_day', 'visit_reminder', 'sla_scan', 'upload_cleanup'));

-- What the cleanup looks for: open uploads by expiry.
CREATE INDEX upload_open_expiry ON upload (expires_at) WHERE status = 'open';

-- sql/002's plan, and the hourly upload_cleanup:<hour> job.
CREATE OR REPLACE FUNCTION sched_plan(at timestamptz, notice_hour int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  d record;
  today date;
  notice timestamptz;
  slot timestamptz;
  bucket bigint := floor(extract(epoch FROM at) / 600);
  hour bigint := floor(extract(epoch FROM at) / 3600);
  n int := 0;
  k int;
BEGIN
  FOR d IN SELECT id, time_zone FROM district ORDER BY id LOOP
    today := (at AT TIME ZONE d.time_zone)::date;
    notice := (today + make_time(notice_hour, 0, 0)) AT TIME ZONE d.time_zone;
    slot := CASE WHEN at < notice THEN notice
                 ELSE notice + floor(extract(epoch FROM at - notice) / 900) * interval '15 minutes' END;
    INSERT INTO job (kind, payload, dedupe_key, run_at, created_at)
    VALUES ('visit_day', jsonb_build_object('district_id', d.id, 'date', today),
            format('visit_day:%s:%s:%s', d.id, today, to_char(slot AT TIME ZONE d.time_zone, 'HH24MI')), slot, at),
           ('visit_reminder', jsonb_build_object('district_id', d.id, 'date', today + 1),
            format('visit_reminder:%s:%s', d.id, today + 1), (today + time '18:00') AT TIME ZONE d.time_zone, at)
    ON CONFLICT (dedupe_key) DO NOTHING;
    GET DIAGNOSTICS k = ROW_COUNT;
    n := n + k;
  END LOOP;
  INSERT INTO job (kind, payload, dedupe_key, run_at, created_at)
  VALUES ('sla_scan', '{}', 'sla_scan:' || bucket, to_timestamp(bucket * 600), at),
         ('upload_cleanup', '{}', 'upload_cleanup:' || hour, to_timestamp(hour * 3600), at)
  ON CONFLICT (dedupe_key) DO NOTHING;
  GET DIAGNOSTICS k = ROW_COUNT;
  DELETE FROM job WHERE status = 'done' AND finished_at < at - interval '14 days';
  RETURN n + k;
END $$;
