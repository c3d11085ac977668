-- 002: the scheduler — the job queue, SMS delivery state (leases, retries, delivery reports),
-- the per-phone limit, SLA alerts and escalation, and the notices the jobs send.
-- Every function takes "now" as a parameter (the application clock), never now().

-- Officers get SLA reminders by SMS when they have a phone.
ALTER TABLE staff ADD COLUMN phone text CHECK (phone ~ '^\+[1-9][0-9]{7,14}$');
ALTER TABLE staff ADD COLUMN language text NOT NULL DEFAULT 'hi' CHECK (language IN ('en', 'hi'));

-- ---- the job queue ----
-- A job is claimed with FOR UPDATE SKIP LOCKED. While it runs, run_at holds its lease expiry:
-- a worker killed mid-job leaves a row that is due again once the lease ends.
CREATE TABLE job (
  id          bigserial PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('visit_day', 'visit_reminder', 'sla_scan')),
  payload     jsonb NOT NULL DEFAULT '{}',
  dedupe_key  text NOT NULL UNIQUE,
  run_at      timestamptz NOT NULL,
  status      text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
  attempts    int NOT NULL DEFAULT 0,
  locked_by   text,
  locked_at   timestamptz,
  last_error  text,
  created_at  timestamptz NOT NULL,
  finished_at timestamptz
);
CREATE INDEX job_due ON job (run_at) WHERE status IN ('queued', 'running');

-- ---- SMS delivery state ----
-- queued → sending (claimed; next_attempt_at is then the lease expiry) → sent (the gateway
-- took it) → delivered (its delivery report); failed is terminal (a dead letter).
ALTER TABLE sms_outbox ADD COLUMN locked_by text;
ALTER TABLE sms_outbox ADD COLUMN locked_at timestamptz;
ALTER TABLE sms_outbox ADD COLUMN sent_at timestamptz;
ALTER TABLE sms_outbox ADD COLUMN delivered_at timestamptz;
ALTER TABLE sms_outbox ADD COLUMN staff_id int REFERENCES staff(id);
DROP INDEX sms_outbox_due;
CREATE INDEX sms_outbox_pending ON sms_outbox (next_attempt_at) WHERE status IN ('queued', 'sending');
CREATE INDEX sms_outbox_failed ON sms_outbox (district_id, updated_at) WHERE status = 'failed';
CREATE INDEX sms_outbox_gateway ON sms_outbox (gateway_id) WHERE gateway_id IS NOT NULL;
CREATE INDEX booking_day_booked ON booking (district_id, window_start) WHERE status = 'booked';
CREATE INDEX booking_sla_open ON booking (district_id) WHERE status IN ('documents_collected', 'completed', 'submitted');

-- Workers LISTEN on mitan_work; a new message or job wakes them at once.
CREATE FUNCTION work_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('mitan_work', TG_TABLE_NAME);
  RETURN NULL;
END $$;
CREATE TRIGGER sms_outbox_wake AFTER INSERT ON sms_outbox FOR EACH STATEMENT EXECUTE FUNCTION work_notify();
CREATE TRIGGER job_wake AFTER INSERT ON job FOR EACH STATEMENT EXECUTE FUNCTION work_notify();

-- Claims up to `batch` due messages for `worker`, in a few set-based statements. A message
-- whose phone already had `per_hour` messages in the last hour (in flight or sent; OTPs are
-- neither limited nor counted here, they have their own limit at request time) is deferred
-- until a unit of that hour frees, not dropped. One worker decides for a phone at a time (a
-- try-lock: a phone another worker is deciding on waits a round, nobody waits on a lock).
-- The k-th message claimed gets a lease of k × `step` (the worker sends its batch one by one,
-- each within the gateway timeout) and the rows come back in that order. Bitmap scans are off
-- so that the index scan in next_attempt_at order marks the dead entries of sent messages.
CREATE FUNCTION sms_claim(at timestamptz, worker text, batch int, step interval, per_hour int)
RETURNS TABLE (id bigint, dedupe_key text, to_phone text, template text, language text, body text, attempts int)
LANGUAGE plpgsql SET enable_bitmapscan = off AS $$
DECLARE
  cand bigint[];
  phones text[];
  locked text[] := '{}';
  p text;
BEGIN
  SELECT array_agg(c.id), array_agg(DISTINCT c.to_phone) FILTER (WHERE c.template <> 'otp')
    INTO cand, phones
    FROM (SELECT o.id, o.to_phone, o.template FROM sms_outbox o
           WHERE o.status IN ('queued', 'sending') AND o.next_attempt_at <= at
           ORDER BY o.next_attempt_at LIMIT batch FOR UPDATE SKIP LOCKED) c;
  IF cand IS NULL THEN
    RETURN;
  END IF;
  FOREACH p IN ARRAY coalesce(phones, '{}'::text[]) LOOP
    IF pg_try_advisory_xact_lock(hashtext('sms:' || p)) THEN
      locked := locked || p;
    END IF;
  END LOOP;
  RETURN QUERY
  WITH c AS (SELECT o.id, o.to_phone, o.template, o.next_attempt_at FROM sms_outbox o WHERE o.id = ANY (cand)),
  u AS (SELECT s.to_phone, count(*) AS n, min(coalesce(s.sent_at, s.locked_at)) AS oldest
          FROM sms_outbox s
         WHERE s.to_phone = ANY (locked) AND s.template <> 'otp'
           AND ((s.status = 'sending' AND s.next_attempt_at > at) OR s.sent_at > at - interval '1 hour')
         GROUP BY s.to_phone),
  d AS (SELECT c.id, c.next_attempt_at, u.oldest,
               c.template <> 'otp' AND c.to_phone = ANY (locked) AS limited,
               c.template = 'otp' OR (c.to_phone = ANY (locked) AND
                 coalesce(u.n, 0) + row_number() OVER (PARTITION BY c.to_phone, c.template = 'otp'
                                                       ORDER BY c.next_attempt_at, c.id) <= per_hour) AS go
          FROM c LEFT JOIN u ON u.to_phone = c.to_phone),
  k AS (SELECT d.id, row_number() OVER (ORDER BY d.next_attempt_at, d.id) AS k FROM d WHERE d.go),
  deferred AS (
    UPDATE sms_outbox o SET status = 'queued', locked_by = NULL, updated_at = at,
           next_attempt_at = greatest(coalesce(d.oldest, at) + interval '1 hour', at + interval '1 second'),
           last_error = 'deferred: per-phone hourly limit'
      FROM d WHERE o.id = d.id AND d.limited AND NOT d.go
    RETURNING o.id),
  claimed AS (
    UPDATE sms_outbox o SET status = 'sending', locked_by = worker, locked_at = at,
           next_attempt_at = at + step * k.k, attempts = o.attempts + 1, updated_at = at
      FROM k WHERE o.id = k.id
    RETURNING o.id, o.dedupe_key, o.to_phone, o.template, o.language, o.body, o.attempts, k.k)
  SELECT cl.id, cl.dedupe_key, cl.to_phone, cl.template, cl.language, cl.body, cl.attempts
    FROM claimed cl ORDER BY cl.k;
END $$;

-- A queue table: vacuum it often so that claims do not wade through dead versions.
ALTER TABLE sms_outbox SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE job SET (autovacuum_vacuum_scale_factor = 0.05);

-- Records a worker's results: [{"id", "outcome": sent|retry|failed, "gateway_id", "error",
-- "retry_at"}]. Only rows this worker still holds change (a delivery report that came first
-- or a worker that took over an expired lease wins). With `redact`, secrets (OTP, visit
-- code) leave the row once the gateway has the message.
CREATE FUNCTION sms_record(at timestamptz, worker text, results jsonb, redact boolean) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  n int;
BEGIN
  UPDATE sms_outbox o
     SET status = CASE r.outcome WHEN 'sent' THEN 'sent' WHEN 'failed' THEN 'failed' ELSE 'queued' END,
         gateway_id = coalesce(r.gateway_id, o.gateway_id),
         last_error = r.error,
         sent_at = CASE WHEN r.outcome = 'sent' THEN at ELSE o.sent_at END,
         next_attempt_at = coalesce(r.retry_at, o.next_attempt_at),
         locked_by = NULL, updated_at = at,
         body = CASE WHEN redact AND r.outcome = 'sent' AND o.template IN ('otp', 'visit_day', 'booking_reassigned')
                     THEN '' ELSE o.body END,
         variables = CASE WHEN redact AND r.outcome = 'sent' THEN o.variables - 'code' ELSE o.variables END
    FROM jsonb_to_recordset(results) AS r(id bigint, outcome text, gateway_id text, error text, retry_at timestamptz)
   WHERE o.id = r.id AND o.status = 'sending' AND o.locked_by = worker;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

-- A delivery report: moves the message forward only (queued < sending < sent < delivered;
-- failed is terminal). Returns the status after the report, or NULL when no such message.
CREATE FUNCTION sms_delivery_report(ref text, gw text, new_status text, err text, at timestamptz)
RETURNS TABLE (status text, changed boolean) LANGUAGE plpgsql AS $$
DECLARE
  m sms_outbox;
  rank_old int;
  rank_new int;
BEGIN
  SELECT * INTO m FROM sms_outbox o
   WHERE (ref IS NOT NULL AND ref ~ '^[0-9]{1,18}$' AND o.id = ref::bigint)
      OR (ref IS NULL AND gw IS NOT NULL AND o.gateway_id = gw)
   ORDER BY o.id LIMIT 1 FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  rank_old := array_position(ARRAY['queued', 'sending', 'sent', 'delivered'], m.status);
  rank_new := array_position(ARRAY['queued', 'sending', 'sent', 'delivered'], new_status);
  IF m.status IN ('delivered', 'failed')
     OR (new_status <> 'failed' AND (rank_new IS NULL OR rank_new <= rank_old)) THEN
    RETURN QUERY SELECT m.status, false;
    RETURN;
  END IF;
  UPDATE sms_outbox o SET status = new_status, updated_at = at, locked_by = NULL,
         gateway_id = coalesce(o.gateway_id, gw),
         sent_at = coalesce(o.sent_at, at),
         delivered_at = CASE WHEN new_status = 'delivered' THEN at ELSE o.delivered_at END,
         last_error = CASE WHEN new_status = 'failed' THEN coalesce(err, 'delivery failed') ELSE o.last_error END
   WHERE o.id = m.id;
  RETURN QUERY SELECT new_status, true;
END $$;

-- ---- fitting variables: DLT allows at most 30 characters per {#var#} ----

-- v in at most `max` characters, cut at a word boundary and marked with "…".
CREATE FUNCTION sms_fit(v text, max int) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  cut text;
BEGIN
  IF v IS NULL OR length(v) <= max THEN
    RETURN coalesce(v, '');
  END IF;
  cut := left(v, max - 1);
  IF substr(v, max, 1) <> ' ' AND position(' ' IN cut) > 0 THEN
    cut := regexp_replace(cut, '\s+\S*$', '');
  END IF;
  RETURN rtrim(cut, ' ,;:-') || '…';
END $$;

-- Whole items joined with ", " in at most `max` characters; when not all fit, as many whole
-- items as fit followed by ", …".
CREATE FUNCTION sms_fit_list(items text[], max int) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  whole text := array_to_string(items, ', ');
  prefix text := NULL;
  cand text;
BEGIN
  IF items IS NULL OR cardinality(items) = 0 THEN
    RETURN '';
  END IF;
  IF length(whole) <= max THEN
    RETURN whole;
  END IF;
  FOR i IN 1 .. cardinality(items) - 1 LOOP
    cand := CASE WHEN prefix IS NULL THEN items[i] ELSE prefix || ', ' || items[i] END;
    EXIT WHEN length(cand) + 3 > max;
    prefix := cand;
  END LOOP;
  IF prefix IS NULL THEN
    RETURN sms_fit(whole, max);
  END IF;
  RETURN prefix || ', …';
END $$;

-- "24 Nov" / "24 नवंबर": a day in the reader's language and zone.
CREATE FUNCTION day_label(t timestamptz, tz text, lang text) RETURNS text
LANGUAGE plpgsql STABLE STRICT AS $$
BEGIN
  RETURN extract(day FROM t AT TIME ZONE tz)::int || ' ' ||
         CASE WHEN lang = 'hi'
              THEN (ARRAY['जनवरी','फ़रवरी','मार्च','अप्रैल','मई','जून','जुलाई','अगस्त','सितंबर','अक्टूबर','नवंबर','दिसंबर'])
                   [extract(month FROM t AT TIME ZONE tz)::int]
              ELSE to_char(t AT TIME ZONE tz, 'Mon') END;
END $$;

-- ---- booking messages ----

-- Queues one message about a booking to its beneficiary and, when another person, its
-- booker, each in their own language and time zone, in the caller's transaction. `extra`
-- adds or overrides variables (e.g. the visit code); its "to_status" names the status the
-- {#status#} variable describes (default: the booking's). Returns the rows queued (a repeat
-- of the same dedupe key queues nothing).
CREATE FUNCTION booking_notify_ex(booking_id bigint, template text, at timestamptz, url text, dedupe text, extra jsonb)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  n int;
BEGIN
  WITH b AS (
    SELECT b.*, s.name_en, s.name_hi, d.time_zone AS place_tz, a.name AS agent_name
      FROM booking b
      JOIN service s ON s.code = b.service_code
      JOIN district d ON d.id = b.district_id
      LEFT JOIN agent a ON a.id = b.agent_id
     WHERE b.id = booking_notify_ex.booking_id),
  rcpt AS (
    SELECT p.id, p.phone, CASE WHEN p.id = b.beneficiary_id THEN b.beneficiary_language ELSE p.language END AS lang,
           CASE WHEN p.id = b.beneficiary_id THEN b.place_tz ELSE p.time_zone END AS tz
      FROM b JOIN person p ON p.id IN (b.beneficiary_id, b.booker_id)),
  msg AS (
    SELECT r.*, jsonb_build_object(
             'ref', b.reference,
             'service', sms_fit(CASE WHEN r.lang = 'hi' THEN b.name_hi ELSE b.name_en END, 30),
             'window', window_label(b.window_start, b.window_end, r.tz, r.lang),
             'day', day_label(b.window_start, r.tz, r.lang),
             'docs', sms_fit_list(ARRAY(SELECT CASE WHEN r.lang = 'hi' THEN sd.name_hi ELSE sd.name_en END
                                          FROM service_document sd
                                         WHERE sd.service_code = b.service_code AND sd.mandatory
                                         ORDER BY sd.position, sd.code), 30),
             'fee', to_char(b.fee_paise / 100.0, 'FM999990.00'),
             'name', sms_fit(b.beneficiary_name, 30),
             'agent', sms_fit(coalesce(b.agent_name, ''), 30),
             'status', sms_fit(status_label(coalesce(extra->>'to_status', b.status), r.lang), 30),
             'url', coalesce(url, '')) || (coalesce(extra, '{}'::jsonb) - 'to_status') AS vars
      FROM rcpt r CROSS JOIN b),
  ins AS (
    INSERT INTO sms_outbox (district_id, dedupe_key, to_phone, template, language, variables, body,
                            booking_id, next_attempt_at, created_at, updated_at)
    SELECT b.district_id, template || ':' || b.reference || ':' || m.id || ':' || dedupe, m.phone, template,
           m.lang, m.vars, sms_render(t.body, m.vars), b.id, at, at, at
      FROM msg m CROSS JOIN b
      JOIN sms_template t ON t.code = booking_notify_ex.template AND t.language = m.lang
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING 1)
  SELECT count(*)::int INTO n FROM ins;
  RETURN n;
END $$;

-- Queues one message about a booking to its beneficiary and, when another person, its
-- booker, each in their own language and time zone, in the caller's transaction; returns the
-- rows queued (a repeat of a dedupe key queues nothing). The documents fit in 30 characters
-- as whole names; the agent, day and status variables are there for every template.
CREATE FUNCTION booking_notify(booking_id bigint, template text, at timestamptz, url text, dedupe text)
RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  RETURN booking_notify_ex(booking_id, template, at, url, dedupe, '{}'::jsonb);
END $$;

-- Each status change recorded in booking_event tells the resident (beneficiary and booker),
-- in the same transaction, with the generic booking_status message. Changes with their own
-- message are not repeated here: created (confirmation), cancelled, rescheduled, assigned
-- (the visit-day notice), and every status with a template `status_<status>` (the agent
-- API sends those itself, sql/003).
CREATE FUNCTION booking_event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.to_status NOT IN ('booked', 'assigned', 'cancelled', 'rescheduled')
     AND NEW.from_status IS DISTINCT FROM NEW.to_status
     AND NOT EXISTS (SELECT 1 FROM sms_template t WHERE t.code = 'status_' || NEW.to_status) THEN
    PERFORM booking_notify_ex(NEW.booking_id, 'booking_status', NEW.at, NULL, 'ev' || NEW.id,
                              jsonb_build_object('to_status', NEW.to_status));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER booking_event_sms AFTER INSERT ON booking_event FOR EACH ROW EXECUTE FUNCTION booking_event_notify();

-- The evening-before reminder for the district's visits on `day` still to come.
CREATE FUNCTION visit_reminders(p_district int, p_day date, p_at timestamptz) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  tz text := (SELECT d.time_zone FROM district d WHERE d.id = p_district);
  n int := 0;
BEGIN
  SELECT coalesce(sum(booking_notify(b.id, 'visit_reminder', p_at, NULL, p_day::text)), 0) INTO n
    FROM booking b
   WHERE b.district_id = p_district AND b.status IN ('booked', 'assigned')
     AND b.window_start >= p_day::timestamp AT TIME ZONE tz
     AND b.window_start < (p_day + 1)::timestamp AT TIME ZONE tz
     AND b.window_start > p_at;
  RETURN n;
END $$;

-- ---- recurring jobs ----

-- Enqueues the jobs due today in every district, idempotently (dedupe keys): the visit-day
-- notice at `notice_hour` local and a sweep every 15 minutes after it (for visits booked
-- later that day), the evening-before reminder at 18:00 local, and an SLA scan every 10
-- minutes. Returns the jobs added.
CREATE FUNCTION sched_plan(at timestamptz, notice_hour int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  d record;
  today date;
  notice timestamptz;
  slot timestamptz;
  bucket bigint := floor(extract(epoch FROM at) / 600);
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
  VALUES ('sla_scan', '{}', 'sla_scan:' || bucket, to_timestamp(bucket * 600), at)
  ON CONFLICT (dedupe_key) DO NOTHING;
  GET DIAGNOSTICS k = ROW_COUNT;
  DELETE FROM job WHERE status = 'done' AND finished_at < at - interval '14 days';
  RETURN n + k;
END $$;

-- ---- SLA: each service's time limit runs from document collection ----

CREATE TABLE sla_alert (
  id          bigserial PRIMARY KEY,
  booking_id  bigint NOT NULL REFERENCES booking(id),
  district_id int NOT NULL REFERENCES district(id),
  kind        text NOT NULL CHECK (kind IN ('reminder', 'escalation', 'resident')),
  level       text NOT NULL CHECK (level IN ('zone', 'district')),
  staff_id    int REFERENCES staff(id),      -- the officer told
  started_at  timestamptz NOT NULL,          -- documents collected
  due_at      timestamptz NOT NULL,
  at          timestamptz NOT NULL,
  note        text
);
CREATE UNIQUE INDEX sla_alert_once ON sla_alert (booking_id, kind) WHERE kind <> 'resident';
CREATE INDEX sla_alert_booking ON sla_alert (booking_id, at);
CREATE INDEX sla_alert_district ON sla_alert (district_id, at);

-- The officer of a zone (a zone's nodal officer, else the district's), or of the district.
CREATE FUNCTION sla_officer(p_zone int, p_district int, p_level text) RETURNS int
LANGUAGE sql STABLE AS $$
  SELECT s.id FROM staff s
   WHERE s.role = 'officer' AND s.active AND s.district_id = p_district
     AND ((p_level = 'zone' AND (s.zone_id = p_zone OR s.zone_id IS NULL)) OR (p_level = 'district' AND s.zone_id IS NULL))
   ORDER BY (s.zone_id IS NULL), s.id LIMIT 1
$$;

-- The open cases: bookings whose documents were collected (documents_collected, completed,
-- submitted) and whose certificate is not yet ready, with the start and due time of their limit.
CREATE FUNCTION sla_cases(p_district int)
RETURNS TABLE (booking_id bigint, district_id int, zone_id int, reference text, service_code text,
               status text, started_at timestamptz, due_at timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT b.id, b.district_id, b.zone_id, b.reference, b.service_code, b.status, st.started,
         st.started + s.sla_days * interval '1 day'
    FROM booking b
    JOIN service s ON s.code = b.service_code
    CROSS JOIN LATERAL (SELECT min(e.at) AS started FROM booking_event e
                         WHERE e.booking_id = b.id AND e.to_status = 'documents_collected') st
   WHERE b.status IN ('documents_collected', 'completed', 'submitted') AND st.started IS NOT NULL
     AND (p_district = 0 OR b.district_id = p_district)
$$;

-- Queues a message to an officer (when they have a phone) about a booking.
CREATE FUNCTION staff_notify(p_staff int, p_booking bigint, p_template text, p_at timestamptz, p_dedupe text, p_extra jsonb)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  n int;
BEGIN
  WITH o AS (SELECT * FROM staff s WHERE s.id = p_staff AND s.phone IS NOT NULL AND s.active),
  b AS (SELECT b.*, s.name_en, s.name_hi, d.time_zone FROM booking b JOIN service s ON s.code = b.service_code
          JOIN district d ON d.id = b.district_id WHERE b.id = p_booking),
  v AS (SELECT o.*, jsonb_build_object(
          'ref', b.reference,
          'service', sms_fit(CASE WHEN o.language = 'hi' THEN b.name_hi ELSE b.name_en END, 30),
          'zone', sms_fit((SELECT CASE WHEN o.language = 'hi' THEN z.name_hi ELSE z.name_en END
                             FROM zone z WHERE z.id = b.zone_id), 30)) || coalesce(p_extra, '{}'::jsonb) AS vars
          FROM o, b),
  ins AS (
    INSERT INTO sms_outbox (district_id, dedupe_key, to_phone, template, language, variables, body, booking_id,
                            staff_id, next_attempt_at, created_at, updated_at)
    SELECT b.district_id, p_template || ':' || b.reference || ':s' || v.id || ':' || p_dedupe, v.phone, p_template,
           v.language, v.vars, sms_render(t.body, v.vars), b.id, v.id, p_at, p_at, p_at
      FROM v CROSS JOIN b JOIN sms_template t ON t.code = p_template AND t.language = v.language
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING 1)
  SELECT count(*)::int INTO n FROM ins;
  RETURN n;
END $$;

-- Records the 80 % reminders to the zone's officer and the 100 % escalations to the
-- district's, once per case each, and queues their messages. Returns alerts added.
CREATE FUNCTION sla_scan(at timestamptz) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  a record;
  n int := 0;
BEGIN
  FOR a IN
    WITH c AS (SELECT * FROM sla_cases(0)),
    due AS (
      SELECT c.*, 'reminder' AS kind, 'zone' AS level FROM c
       WHERE at >= c.started_at + (c.due_at - c.started_at) * 0.8
      UNION ALL
      SELECT c.*, 'escalation', 'district' FROM c WHERE at >= c.due_at)
    INSERT INTO sla_alert (booking_id, district_id, kind, level, staff_id, started_at, due_at, at)
    SELECT due.booking_id, due.district_id, due.kind, due.level,
           sla_officer(due.zone_id, due.district_id, due.level), due.started_at, due.due_at, at
      FROM due
    ON CONFLICT (booking_id, kind) WHERE kind <> 'resident' DO NOTHING
    RETURNING sla_alert.*
  LOOP
    n := n + 1;
    IF a.staff_id IS NOT NULL THEN
      PERFORM staff_notify(a.staff_id, a.booking_id,
                           CASE a.kind WHEN 'reminder' THEN 'sla_reminder' ELSE 'sla_escalated' END, at, a.kind,
                           jsonb_build_object('due', day_label(a.due_at, (SELECT d.time_zone FROM district d WHERE d.id = a.district_id),
                                                                (SELECT s.language FROM staff s WHERE s.id = a.staff_id))));
    END IF;
  END LOOP;
  RETURN n;
END $$;

-- A resident's reminder on their booking: recorded for the officer of the zone, who is
-- told by SMS, and acknowledged to the resident. The caller checks ownership and the rate.
CREATE FUNCTION sla_resident_reminder(p_booking bigint, p_person bigint, p_at timestamptz, p_note text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  b booking;
  c record;
  officer int;
  alert bigint;
  tz text;
  lang text;
BEGIN
  SELECT * INTO b FROM booking x WHERE x.id = p_booking;
  SELECT * INTO c FROM sla_cases(b.district_id) s WHERE s.booking_id = p_booking;
  tz := (SELECT d.time_zone FROM district d WHERE d.id = b.district_id);
  officer := sla_officer(b.zone_id, b.district_id, 'zone');
  INSERT INTO sla_alert (booking_id, district_id, kind, level, staff_id, started_at, due_at, at, note)
  VALUES (p_booking, b.district_id, 'resident', 'zone', officer, coalesce(c.started_at, b.window_start),
          coalesce(c.due_at, b.window_end), p_at, p_note)
  RETURNING id INTO alert;
  IF officer IS NOT NULL THEN
    lang := (SELECT s.language FROM staff s WHERE s.id = officer);
    PERFORM staff_notify(officer, p_booking, 'sla_resident_reminder', p_at, 'r' || alert,
                         jsonb_build_object('due', day_label(coalesce(c.due_at, b.window_end), tz, lang),
                                            'status', sms_fit(status_label(b.status, lang), 30)));
  END IF;
  -- The acknowledgement goes to the resident who asked, in their language.
  INSERT INTO sms_outbox (district_id, dedupe_key, to_phone, template, language, variables, body, booking_id,
                          next_attempt_at, created_at, updated_at)
  SELECT b.district_id, 'reminder_ack:' || b.reference || ':' || alert, p.phone, 'reminder_ack', l.lang, v.vars,
         sms_render(t.body, v.vars), b.id, p_at, p_at, p_at
    FROM person p
    CROSS JOIN LATERAL (SELECT CASE WHEN p.id = b.beneficiary_id THEN b.beneficiary_language ELSE p.language END AS lang) l
    CROSS JOIN LATERAL (SELECT jsonb_build_object('ref', b.reference,
                          'status', sms_fit(status_label(b.status, l.lang), 30)) AS vars) v
    JOIN sms_template t ON t.code = 'reminder_ack' AND t.language = l.lang
   WHERE p.id = p_person;
  RETURN alert;
END $$;

-- The officer's view of open cases (district 0 = every district), newest limit first.
CREATE FUNCTION sla_json(p_district int, p_at timestamptz, p_state text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN coalesce((
    SELECT jsonb_agg(x.j ORDER BY x.due_at, x.reference) FROM (
      SELECT c.due_at, c.reference, jsonb_build_object(
        'reference', c.reference,
        'service', c.service_code,
        'status', c.status,
        'zone', z.code,
        'started_at', rfc3339(c.started_at, d.time_zone),
        'due_at', rfc3339(c.due_at, d.time_zone),
        'elapsed_percent', round((extract(epoch FROM p_at - c.started_at) /
                                  greatest(extract(epoch FROM c.due_at - c.started_at), 1) * 100)::numeric, 1),
        'state', st.state,
        'officer', (SELECT jsonb_build_object('id', s.id, 'name', s.name)
                      FROM staff s WHERE s.id = sla_officer(c.zone_id, c.district_id, 'zone')),
        'alerts', coalesce((SELECT jsonb_agg(jsonb_build_object('kind', a.kind, 'level', a.level,
                                   'at', rfc3339(a.at, d.time_zone), 'officer', s.name, 'note', a.note) ORDER BY a.id)
                              FROM sla_alert a LEFT JOIN staff s ON s.id = a.staff_id
                             WHERE a.booking_id = c.booking_id), '[]'::jsonb)) AS j
        FROM sla_cases(p_district) c
        JOIN district d ON d.id = c.district_id
        JOIN zone z ON z.id = c.zone_id
        CROSS JOIN LATERAL (SELECT CASE
            WHEN EXISTS (SELECT 1 FROM sla_alert a WHERE a.booking_id = c.booking_id AND a.kind = 'escalation') THEN 'escalated'
            WHEN EXISTS (SELECT 1 FROM sla_alert a WHERE a.booking_id = c.booking_id AND a.kind = 'reminder') THEN 'reminded'
            ELSE 'on_time' END AS state) st
       WHERE p_state IS NULL OR st.state = p_state) x), '[]'::jsonb);
END $$;
