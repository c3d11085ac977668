-- The demo city's past: what Raipur (RPR) did in the weeks before the seed's "now", so that
-- the committee's fortnightly report, the officer's SLA, overdue and grievance panels and the
-- SMS figures have something to show right after `make run`. Run by `mitan seed --demo` in
-- its transaction, with mitan.seed_now set to the application clock (never now()); written
-- once: a district that has its history already (the `created` events noted 'demo history')
-- is left alone, so a second `make run` reuses it. Deterministic for a given "now" (setseed).
--
-- It covers every local day from the first day of the fortnight before the last complete one
-- up to yesterday (31–46 days), in all six zones and for many services: bookings made by
-- residents and the call centre (some for a relative), each holding its unit of the capacity
-- ledger (agent shifts and windows of those days are made as the seed makes today's),
-- walked through the real states with their booking_event rows, audit entries and the
-- messages the system sends at each step (the confirmation, the evening-before reminder, the
-- visit-day notice, the agent's steps, the office's steps, as the transition table names them):
-- cancellations and reschedules before the day, no-shows, failed visits, rejections by the
-- office, certificates ready within the service's time limit and after it, cases still open
-- (some overdue) with the SLA reminders and escalations the scan would have sent, and a
-- handful of grievances through the tiers (raised, answered, appealed, escalated, flagged,
-- closed) with the functions of sql/005. Every message of the history ends up delivered,
-- failed or sent without a delivery report, never queued: no worker sends weeks of texts.
-- People are made up: names from lists, phones +9190000xxxxx, no identity numbers.

SET LOCAL statement_timeout = '300s';

-- A reference like the C code's: MT-XXXX-XXXX-XXXX / GV-…, Crockford base 32 (from random()).
CREATE FUNCTION pg_temp.hist_ref(prefix text) RETURNS text
LANGUAGE sql AS $$
  SELECT prefix || '-' || string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', 1 + floor(random() * 32)::int, 1)
                                     || CASE WHEN i IN (4, 8) THEN '-' ELSE '' END, '' ORDER BY i)
    FROM generate_series(1, 12) i
$$;

-- A uniform random interval in [lo, hi).
CREATE FUNCTION pg_temp.hist_between(lo interval, hi interval) RETURNS interval
LANGUAGE sql AS $$ SELECT lo + random() * (hi - lo) $$;

-- One step of a booking as the application records it (dispatch/booking/change.c): the
-- status, the event and audit entry (booking_change_record), and the message the transition
-- table names for it to the beneficiary and the booker. The generic status message of the
-- office's steps, 'booking_status', is deduplicated on the event as there.
CREATE FUNCTION pg_temp.hist_step(p_booking bigint, p_action text, p_to text, p_role text, p_actor bigint,
                                  p_at timestamptz, p_note text, p_location geometry, p_template text,
                                  p_dedupe text, p_extra jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  from_status text;
  ev bigint;
BEGIN
  SELECT CASE WHEN p_action = 'created' THEN NULL ELSE x.status END INTO from_status FROM booking x WHERE x.id = p_booking;
  UPDATE booking SET status = p_to, updated_at = p_at WHERE id = p_booking;
  ev := booking_change_record(p_booking, p_action, from_status, p_to, p_role, p_actor, p_at, p_note, p_location, NULL);
  IF p_template = 'booking_status' THEN
    PERFORM booking_notify_ex(p_booking, p_template, p_at, NULL, 'ev' || ev, jsonb_build_object('to_status', p_to));
  ELSIF p_template IS NOT NULL THEN
    PERFORM booking_notify_ex(p_booking, p_template, p_at, NULL, p_dedupe, coalesce(p_extra, '{}'::jsonb));
  END IF;
END $$;

-- A free unit of the zone's window `win` on `day` for the service, taken; NULL when none.
CREATE FUNCTION pg_temp.hist_take(p_zone int, p_day date, p_win int, p_service text, p_tz text,
                                  OUT agent_id int, OUT starts_at timestamptz, OUT ends_at timestamptz)
LANGUAGE plpgsql AS $$
BEGIN
  SELECT w.agent_id, w.starts_at, w.ends_at INTO agent_id, starts_at, ends_at
    FROM agent_window w
    JOIN agent a ON a.id = w.agent_id
    JOIN slot_template t ON t.zone_id = w.zone_id AND t.window_no = p_win
    JOIN service s ON s.code = p_service
   WHERE w.zone_id = p_zone AND w.starts_at = (p_day + t.start_local) AT TIME ZONE p_tz
     AND w.booked < w.capacity AND a.active AND a.skills && ARRAY[s.code, s.department, '*']
   ORDER BY random() LIMIT 1;
  IF agent_id IS NOT NULL THEN
    UPDATE agent_window w SET booked = w.booked + 1 WHERE w.agent_id = hist_take.agent_id AND w.starts_at = hist_take.starts_at;
  END IF;
END $$;

-- The open grievance's scheduled steps up to p_until, as grievance_scan would have taken them
-- every ten minutes: the reminder at 80 % of the tier's limit, the escalation at 100 % (tier 3
-- stays and is flagged).
CREATE FUNCTION pg_temp.hist_grievance_scan(p_grievance bigint, p_until timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  g grievance;
  remind_at timestamptz;
BEGIN
  LOOP
    SELECT * INTO g FROM grievance x WHERE x.id = p_grievance;
    EXIT WHEN g.status <> 'open' OR g.flagged_at IS NOT NULL;
    remind_at := g.due_at - (g.due_at - g.tier_started_at) * 0.2;
    IF remind_at < p_until AND NOT EXISTS (SELECT 1 FROM grievance_event e WHERE e.grievance_id = g.id
                                             AND e.tier = g.tier AND e.action = 'reminder') THEN
      PERFORM grievance_record(g.id, 'reminder', g.tier, NULL, NULL, 'system', NULL, remind_at, NULL);
      IF g.handler_staff_id IS NOT NULL THEN
        PERFORM grievance_staff_notify(g.handler_staff_id, g.id, 'grievance_reminder', remind_at, 'r' || g.tier);
      END IF;
    END IF;
    EXIT WHEN g.due_at >= p_until;
    IF g.tier < 3 THEN
      PERFORM grievance_move(g.id, g.tier + 1, 'escalated', 'system', NULL, g.due_at, NULL);
    ELSE
      PERFORM grievance_record(g.id, 'escalated', 3, NULL, NULL, 'system', NULL, g.due_at, NULL);
      UPDATE grievance x SET flagged_at = g.due_at, updated_at = g.due_at WHERE x.id = g.id;
      PERFORM grievance_notify(g.id, 'grievance_flagged', g.due_at, 'flagged');
      IF g.handler_staff_id IS NOT NULL THEN
        PERFORM grievance_staff_notify(g.handler_staff_id, g.id, 'grievance_overdue', g.due_at, 'flagged');
      END IF;
    END IF;
  END LOOP;
END $$;

-- One grievance: raised at `raised` on a booking of the history, then its steps
-- [action, hours after the previous step, decision/note] while they are before now, with
-- the scan's steps in between. Returns the grievance id, or NULL when no booking fits.
CREATE FUNCTION pg_temp.hist_grievance(p_booking bigint, p_kind text, p_description text, p_raised timestamptz,
                                       p_steps text[], p_now timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  b booking;
  gid bigint;
  ref text := pg_temp.hist_ref('GV');
  t timestamptz := p_raised;
  g grievance;
  h staff;
  outcome text;
  i int;
BEGIN
  SELECT * INTO b FROM booking x WHERE x.id = p_booking;
  IF NOT FOUND OR p_raised >= p_now THEN
    RETURN NULL;
  END IF;
  SELECT r.outcome, r.grievance_id INTO outcome, gid
    FROM grievance_raise(b.reference, b.booker_id, ref, p_kind, p_description, NULL, p_raised) r;
  IF outcome <> 'ok' THEN
    RAISE EXCEPTION 'demo history: raising a grievance on % gave %', b.reference, outcome;
  END IF;
  FOR i IN 1 .. coalesce(array_length(p_steps, 1), 0) LOOP
    t := t + split_part(p_steps[i], ':', 2)::numeric * interval '1 hour';
    EXIT WHEN t >= p_now;
    PERFORM pg_temp.hist_grievance_scan(gid, t);
    SELECT * INTO g FROM grievance x WHERE x.id = gid;
    CASE split_part(p_steps[i], ':', 1)
    WHEN 'answered' THEN
      CONTINUE WHEN g.status <> 'open';
      SELECT * INTO h FROM staff s WHERE s.id = grievance_handler(g.district_id, g.tier);
      SELECT r.outcome INTO outcome
        FROM grievance_answer(ref, h.role, h.id, g.district_id, split_part(p_steps[i], ':', 3),
                              split_part(p_steps[i], ':', 4), t) r;
    WHEN 'appealed' THEN
      CONTINUE WHEN g.tier = 3 OR g.status = 'closed' OR (g.status = 'open' AND t < g.due_at);
      SELECT r.outcome INTO outcome FROM grievance_appeal(ref, b.booker_id, split_part(p_steps[i], ':', 3), t) r;
    WHEN 'closed' THEN
      CONTINUE WHEN g.status = 'closed';
      SELECT r.outcome INTO outcome FROM grievance_close(ref, b.booker_id, split_part(p_steps[i], ':', 3), t) r;
    END CASE;
    IF outcome <> 'ok' THEN
      RAISE EXCEPTION 'demo history: % of grievance % gave %', p_steps[i], ref, outcome;
    END IF;
  END LOOP;
  PERFORM pg_temp.hist_grievance_scan(gid, p_now);
  RETURN gid;
END $$;

DO $$
DECLARE
  d district;
  now_ts timestamptz := current_setting('mitan.seed_now')::timestamptz;
  today date;
  first_day date;
  cur_start date;
  def_start date;
  hday date;
  pick int;
  z record;
  n int;
  k int;
  made int := 0;
  svc record;
  total_weight numeric;
  u record;
  v record;
  bid bigint;
  ref text;
  booker bigint;
  beneficiary bigint;
  ben person;
  role text;
  actor bigint;
  lat float8;
  lon float8;
  place geometry;
  created timestamptz;
  vday date;
  t timestamptz;
  t_assign timestamptz;
  t_collected timestamptz;
  t_ready timestamptz;
  t_closed timestamptz;
  due timestamptz;
  r float8;
  f float8;
  officer int;
  operator int;
  alert record;
  g record;
  locality text[];
  first_names text[] := ARRAY['Ramesh', 'Sunita', 'Lakhan', 'Phool Bai', 'Dhaneshwari', 'Santoshi', 'Bhupendra',
    'Chandrakala', 'Tulsi', 'Gendlal', 'Parvati', 'Keshav', 'Ishwari', 'Manisha', 'Omprakash', 'Radhika', 'Shivnath',
    'Jamuna', 'Ghanshyam', 'Sarojini', 'Hemlal', 'Leela', 'Firoz', 'Nasreen', 'Anjali', 'Bhuneshwar', 'Durga', 'Kunti',
    'Rekhchand', 'Tara', 'Devki', 'Mahesh', 'Sushila', 'Pawan', 'Shabnam', 'Harish', 'Kamini', 'Jagdish', 'Yashoda',
    'Baldev', 'Rukmani', 'Trilok', 'Fatima', 'Gurbachan', 'Champa', 'Nandkishore', 'Bindiya', 'Somnath'];
  last_names text[] := ARRAY['Sahu', 'Verma', 'Yadav', 'Sinha', 'Patel', 'Dewangan', 'Tandon', 'Chandrakar', 'Nishad',
    'Sonkar', 'Sharma', 'Markam', 'Banjare', 'Kurre', 'Dhruw', 'Thakur', 'Kashyap', 'Netam', 'Baghel', 'Tiwari', 'Sen',
    'Rajput', 'Gupta', 'Agrawal', 'Khan', 'Singh', 'Mandavi', 'Jangde', 'Kosle', 'Bharti', 'Qureshi', 'Dhiwar'];
BEGIN
  SELECT * INTO d FROM district x WHERE x.code = 'RPR';
  IF NOT FOUND OR EXISTS (SELECT 1 FROM booking_event e WHERE e.district_id = d.id AND e.action = 'created'
                                                         AND e.note = 'demo history') THEN
    PERFORM set_config('mitan.seed_history', '0', true);
    RETURN;
  END IF;
  PERFORM setseed(0.2026);
  today := (now_ts AT TIME ZONE d.time_zone)::date;
  cur_start := (SELECT p.first_day FROM report_period_days(report_period_code(today)) p);
  def_start := (SELECT p.first_day FROM report_period_days(report_period_code(cur_start - 1)) p);
  first_day := (SELECT p.first_day FROM report_period_days(report_period_code(def_start - 1)) p);
  officer := (SELECT s.id FROM staff s WHERE s.login = 'officer');
  operator := (SELECT s.id FROM staff s WHERE s.login = 'operator');

  -- The agents' past shifts (09:00–18:00, 3 visits a window) and their windows.
  INSERT INTO agent_shift (agent_id, day, start_local, end_local, per_window)
  SELECT a.id, x::date, '09:00', '18:00', 3
    FROM agent a, generate_series(first_day, today - 1, interval '1 day') x
   WHERE a.district_id = d.id AND a.code LIKE 'RPR-A%'
  ON CONFLICT (agent_id, day) DO NOTHING;
  PERFORM agent_windows_materialize(first_day, today - 1);

  -- Residents: made-up names, phones +9190000xxxxx; one in nine reads English.
  INSERT INTO person (phone, name, language, time_zone, created_at)
  SELECT format('+9190000%s', lpad(i::text, 5, '0')),
         first_names[1 + i % array_length(first_names, 1)] || ' ' ||
           last_names[1 + (i * 7 + i / array_length(first_names, 1)) % array_length(last_names, 1)],
         CASE WHEN i % 9 = 0 THEN 'en' ELSE 'hi' END, 'Asia/Kolkata',
         (first_day - 30 - i % 40)::timestamp AT TIME ZONE d.time_zone
    FROM generate_series(1, 500) i
  ON CONFLICT (phone) DO NOTHING;
  CREATE TEMP TABLE hist_person ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY p.phone) AS n, p.id FROM person p
     WHERE p.phone ~ '^\+9190000[0-9]{5}$';

  -- Services by how often they are asked for; every active service at least now and then.
  CREATE TEMP TABLE hist_service ON COMMIT DROP AS
    WITH w AS (
      SELECT s.code, s.sla_days,
             coalesce(x.weight, 1) AS weight
        FROM service s
        LEFT JOIN (VALUES ('income_certificate', 12), ('residence_certificate', 10), ('caste_certificate_obc', 6),
                          ('caste_certificate_sc', 4), ('caste_certificate_st', 4), ('ews_certificate', 2),
                          ('birth_certificate', 8), ('death_certificate', 4), ('birth_certificate_correction', 2),
                          ('ration_card_new', 4), ('ration_card_add_member', 3), ('old_age_pension', 4),
                          ('widow_pension', 2), ('property_tax_payment', 5), ('electricity_bill_payment', 5),
                          ('water_bill_payment', 3), ('aadhaar_mobile_update', 4), ('aadhaar_update', 3),
                          ('marriage_registration', 2), ('trade_licence', 2), ('shop_registration', 2),
                          ('land_mutation', 2), ('bhuiyan_extract', 3), ('certified_copy', 2)) x(code, weight)
          ON x.code = s.code
       WHERE s.active)
    SELECT w.code, w.sla_days, sum(w.weight) OVER (ORDER BY w.code) - w.weight AS lo,
           sum(w.weight) OVER (ORDER BY w.code) AS hi
      FROM w;
  total_weight := (SELECT max(hi) FROM hist_service);

  -- What happened to each booking, for the grievances and the checks below.
  CREATE TEMP TABLE hist_booking (
    id bigint PRIMARY KEY, fate text, vday date, visited_at timestamptz, no_show_at timestamptz,
    rejected_at timestamptz, collected_at timestamptz, due_at timestamptz, ready_at timestamptz,
    used boolean NOT NULL DEFAULT false) ON COMMIT DROP;

  FOR hday IN SELECT x::date FROM generate_series(first_day, today - 1, interval '1 day') x LOOP
    FOR z IN SELECT zz.*, row_number() OVER (ORDER BY zz.code) AS zno,
                    ST_XMin(zz.area) AS x0, ST_XMax(zz.area) AS x1, ST_YMin(zz.area) AS y0, ST_YMax(zz.area) AS y1
               FROM zone zz WHERE zz.district_id = d.id ORDER BY zz.code LOOP
      locality := (ARRAY['Gudhiyari', 'Kota', 'Mathpara', 'Ramnagar', 'Pandri', 'Mowa', 'Devendra Nagar', 'Shanti Nagar',
                         'Shankar Nagar', 'Khamardih', 'Avanti Vihar', 'Choubey Colony', 'Tatibandh', 'Hirapur', 'Bhanpuri',
                         'Sarona', 'Civil Lines', 'Byron Bazar', 'Budhapara', 'Purani Basti', 'Telibandha', 'Amlidih',
                         'Labhandih', 'Dangania'])[((z.zno - 1) % 6) * 4 + 1:((z.zno - 1) % 6) * 4 + 4];
      -- Fewer visits on Sundays.
      n := CASE WHEN extract(isodow FROM hday) = 7 THEN floor(random() * 2)::int ELSE 2 + floor(random() * 4)::int END;
      FOR k IN 1 .. n LOOP
        r := random() * total_weight;
        SELECT * INTO svc FROM hist_service s WHERE r >= s.lo AND r < s.hi;
        SELECT * INTO u FROM pg_temp.hist_take(z.id, hday, 1 + floor(random() * 4)::int, svc.code, d.time_zone);
        CONTINUE WHEN u.agent_id IS NULL;
        -- Booked one to six days before, in the daytime.
        created := ((hday - 1 - floor(random() * 6)::int) + time '08:00' + random() * interval '13 hours') AT TIME ZONE d.time_zone;
        pick := 1 + floor(random() * 500)::int;
        beneficiary := (SELECT p.id FROM hist_person p WHERE p.n = pick);
        pick := CASE WHEN random() < 0.15 THEN 1 + floor(random() * 500)::int ELSE pick END;
        booker := (SELECT p.id FROM hist_person p WHERE p.n = pick);
        SELECT * INTO ben FROM person p WHERE p.id = beneficiary;
        IF random() < 0.22 THEN
          role := 'operator';
          actor := operator;
        ELSE
          role := 'resident';
          actor := booker;
        END IF;
        lon := z.x0 + 0.003 + random() * (z.x1 - z.x0 - 0.006);
        lat := z.y0 + 0.003 + random() * (z.y1 - z.y0 - 0.006);
        place := ST_SetSRID(ST_MakePoint(lon, lat), 4326);
        ref := pg_temp.hist_ref('MT');
        INSERT INTO booking (district_id, reference, tracking_hash, service_code, booker_id, beneficiary_id,
                             beneficiary_name, beneficiary_language, address, location, zone_id, window_start, window_end,
                             agent_id, status, fee_paise, created_by_role, created_by_id, created_at, updated_at)
        SELECT d.id, ref, sha256(convert_to('demo history ' || ref, 'UTF8')), s.code, booker, beneficiary, ben.name,
               ben.language, format('House %s, Ward %s, %s, Raipur', 1 + floor(random() * 240)::int,
                                    1 + (z.zno - 1) * 11 + floor(random() * 11)::int, locality[1 + floor(random() * 4)::int]),
               place, z.id, u.starts_at, u.ends_at, u.agent_id, 'booked', s.fee_paise, role, actor, created, created
          FROM service s WHERE s.code = svc.code
        RETURNING id INTO bid;
        PERFORM pg_temp.hist_step(bid, 'created', 'booked', role, actor, created, 'demo history', NULL,
                                  'booking_confirmed', 'created', NULL);
        made := made + 1;
        vday := hday;
        t_assign := (vday + time '07:00') AT TIME ZONE d.time_zone + pg_temp.hist_between('0', '2 minutes');
        r := random();

        -- Before the day: cancelled, or moved to a later window (1–3 days on, before today).
        IF r < 0.07 THEN
          t := created + random() * (t_assign - interval '1 hour' - created);
          UPDATE agent_window w SET booked = w.booked - 1 WHERE w.agent_id = u.agent_id AND w.starts_at = u.starts_at;
          PERFORM pg_temp.hist_step(bid, 'cancelled', 'cancelled', role, actor, t,
                                    (ARRAY['not needed any more', 'will visit the office myself', 'wrong service booked', NULL])[1 + floor(random() * 4)::int],
                                    NULL, 'booking_cancelled', 'cancelled', NULL);
          INSERT INTO hist_booking (id, fate, vday) VALUES (bid, 'cancelled', vday);
          CONTINUE;
        ELSIF r < 0.12 AND hday + 1 < today THEN
          vday := hday + 1 + floor(random() * least(3, today - hday - 1))::int;
          SELECT * INTO v FROM pg_temp.hist_take(z.id, vday, 1 + floor(random() * 4)::int, svc.code, d.time_zone);
          IF v.agent_id IS NOT NULL THEN
            t := created + random() * (t_assign - interval '1 hour' - created);
            UPDATE agent_window w SET booked = w.booked - 1 WHERE w.agent_id = u.agent_id AND w.starts_at = u.starts_at;
            UPDATE booking b SET window_start = v.starts_at, window_end = v.ends_at, agent_id = v.agent_id WHERE b.id = bid;
            PERFORM pg_temp.hist_step(bid, 'rescheduled', 'booked', role, actor, t, NULL, NULL, 'booking_rescheduled',
                                      'to:' || extract(epoch FROM v.starts_at)::bigint, NULL);
            u := v;
            t_assign := (vday + time '07:00') AT TIME ZONE d.time_zone + pg_temp.hist_between('0', '2 minutes');
          ELSE
            vday := hday;
          END IF;
        END IF;

        -- The evening before: the reminder; the visit day: the notice with the visit code.
        t := (vday - 1 + time '18:00') AT TIME ZONE d.time_zone;
        IF created < t THEN
          PERFORM booking_notify(bid, 'visit_reminder', t + pg_temp.hist_between('0', '3 minutes'), NULL, vday::text);
        END IF;
        PERFORM pg_temp.hist_step(bid, 'assigned', 'assigned', 'system', NULL, t_assign, NULL, NULL, 'visit_day',
                                  vday::text, jsonb_build_object('code', lpad(floor(random() * 1000000)::int::text, 6, '0')));

        -- At the door.
        r := random();
        t := u.starts_at + pg_temp.hist_between('0', '70 minutes');
        PERFORM pg_temp.hist_step(bid, 'status', 'en_route', 'agent', u.agent_id, t, NULL, NULL, 'status_en_route', 'en_route', NULL);
        IF r < 0.06 THEN
          t := t + pg_temp.hist_between('15 minutes', '40 minutes');
          PERFORM pg_temp.hist_step(bid, 'status', 'no_show', 'agent', u.agent_id, t,
                                    (ARRAY['house locked, neighbours say the family is away', 'nobody answered the door or the phone',
                                           'the applicant had gone to work'])[1 + floor(random() * 3)::int],
                                    place, 'status_no_show', 'no_show', NULL);
          INSERT INTO hist_booking (id, fate, vday, no_show_at) VALUES (bid, 'no_show', vday, t);
          CONTINUE;
        ELSIF r < 0.08 THEN
          t := t + pg_temp.hist_between('20 minutes', '50 minutes');
          PERFORM pg_temp.hist_step(bid, 'status', 'failed', 'agent', u.agent_id, t, 'road closed for a procession; could not reach',
                                    NULL, 'status_failed', 'failed', NULL);
          INSERT INTO hist_booking (id, fate, vday) VALUES (bid, 'failed', vday);
          CONTINUE;
        END IF;
        t := t + pg_temp.hist_between('8 minutes', '25 minutes');
        PERFORM pg_temp.hist_step(bid, 'status', 'arrived', 'agent', u.agent_id, t, NULL, place, 'status_arrived', 'arrived', NULL);
        INSERT INTO hist_booking (id, fate, vday, visited_at) VALUES (bid, 'visited', vday, t);
        IF r < 0.10 THEN
          t := t + pg_temp.hist_between('10 minutes', '25 minutes');
          PERFORM pg_temp.hist_step(bid, 'status', 'failed', 'agent', u.agent_id, t,
                                    (ARRAY['the applicant did not have the original documents', 'the beneficiary was in hospital'])[1 + floor(random() * 2)::int],
                                    place, 'status_failed', 'failed', NULL);
          UPDATE hist_booking SET fate = 'failed' WHERE id = bid;
          CONTINUE;
        END IF;
        t := t + pg_temp.hist_between('10 minutes', '30 minutes');
        PERFORM pg_temp.hist_step(bid, 'status', 'documents_collected', 'agent', u.agent_id, t, NULL, place,
                                  'status_documents_collected', 'documents_collected', NULL);
        t_collected := t;
        due := t_collected + svc.sla_days * interval '1 day';
        t := t + pg_temp.hist_between('3 minutes', '10 minutes');
        PERFORM pg_temp.hist_step(bid, 'status', 'completed', 'agent', u.agent_id, t, NULL, place, 'status_completed', 'completed', NULL);

        -- The office: submitted, then the certificate within the time limit or after it
        -- (or not yet), then delivered; a few rejected.
        r := random();
        f := CASE WHEN r < 0.62 THEN 0.1 + random() * 0.7 WHEN r < 0.80 THEN 0.8 + random() * 0.19
                  WHEN r < 0.93 THEN 1.05 + random() * 0.9 ELSE 2.0 + random() * 2.0 END;
        t_ready := t_collected + f * svc.sla_days * interval '1 day';
        t_closed := NULL;
        t := t_collected + (t_ready - t_collected) * (0.1 + random() * 0.3);
        IF t < now_ts THEN
          PERFORM pg_temp.hist_step(bid, 'status', 'submitted', 'officer', officer, t, NULL, NULL, 'booking_status', NULL, NULL);
          IF t_ready < now_ts AND random() < 0.04 THEN
            PERFORM pg_temp.hist_step(bid, 'status', 'rejected', 'officer', officer, t_ready,
                                      'the department found the applicant not eligible', NULL, 'booking_status', NULL, NULL);
            t_closed := t_ready;
            UPDATE hist_booking SET fate = 'rejected', rejected_at = t_ready WHERE id = bid;
          ELSIF t_ready < now_ts THEN
            PERFORM pg_temp.hist_step(bid, 'status', 'certificate_ready', 'officer', officer, t_ready, NULL, NULL, 'booking_status', NULL, NULL);
            t_closed := t_ready;
            t := t_ready + pg_temp.hist_between('12 hours', '3 days');
            IF t < now_ts THEN
              PERFORM pg_temp.hist_step(bid, 'status', 'delivered', 'officer', officer, t, NULL, NULL, 'booking_status', NULL, NULL);
            END IF;
          END IF;
        END IF;
        UPDATE hist_booking SET collected_at = t_collected, due_at = due,
                                ready_at = CASE WHEN fate <> 'rejected' THEN t_closed END
         WHERE id = bid;

        -- The SLA scan's alerts while the case was open: the zone's officer at 80 %, the
        -- district's at 100 % (as sla_scan records them, every ten minutes).
        FOR alert IN
          SELECT x.kind, x.level, x.at FROM (VALUES ('reminder', 'zone', t_collected + (due - t_collected) * 0.8),
                                                  ('escalation', 'district', due)) x(kind, level, at)
           WHERE x.at < coalesce(t_closed, now_ts) AND x.at < now_ts
        LOOP
          t := to_timestamp(ceil(extract(epoch FROM alert.at) / 600) * 600);
          CONTINUE WHEN t >= coalesce(t_closed, now_ts) OR t >= now_ts;
          INSERT INTO sla_alert (booking_id, district_id, kind, level, staff_id, started_at, due_at, at)
          VALUES (bid, d.id, alert.kind, alert.level, sla_officer(z.id, d.id, alert.level), t_collected, due, t);
          PERFORM staff_notify(s.id, bid, CASE alert.kind WHEN 'reminder' THEN 'sla_reminder' ELSE 'sla_escalated' END,
                               t, alert.kind, jsonb_build_object('due', day_label(due, d.time_zone, s.language)))
             FROM staff s WHERE s.id = sla_officer(z.id, d.id, alert.level);
        END LOOP;
      END LOOP;
    END LOOP;
  END LOOP;

  -- Grievances: on the bookings they are about, a few hours to two days after what went
  -- wrong, spread over the three fortnights.
  FOR g IN SELECT * FROM (VALUES
               -- the fortnight before the last complete one
               (1, 'conduct', 'The agent asked for money to make the certificate quickly.',
                ((first_day + 1) + time '11:30') AT TIME ZONE d.time_zone, '{}'::text[]),
               (2, 'missed_visit', 'Nobody came to our house although we waited all morning.',
                ((first_day + 4) + time '10:15') AT TIME ZONE d.time_zone,
                '{answered:30:upheld:The agent went to a wrong house; a new visit is booked.,closed:20:Thank you}'::text[]),
               (3, 'delay', 'The certificate was promised in a week and it has not come.',
                ((first_day + 9) + time '16:40') AT TIME ZONE d.time_zone,
                '{answered:50:rejected:The department asked for a field enquiry; the time limit runs from then.,appealed:26:The enquiry was done last week.,answered:100:upheld:The certificate is ready at the tehsil.,closed:30:Received}'::text[]),
               -- the last complete fortnight
               (4, 'delay', 'The certificate is late and the scholarship form closes soon.',
                ((def_start + 1) + time '12:00') AT TIME ZONE d.time_zone,
                '{answered:90:upheld:Expedited; the certificate is signed.}'::text[]),
               (5, 'rejection', 'My application was rejected without any reason given.',
                ((def_start + 3) + time '09:45') AT TIME ZONE d.time_zone,
                '{answered:20:rejected:The land records do not show the applicant as the owner.,appealed:40:I have the registry papers.,answered:60:rejected:The registry is not mutated yet; apply for mutation first.,appealed:30:The mutation was applied for a year ago.,answered:110:upheld:The mutation is ordered; the application is reopened.}'::text[]),
               (6, 'missed_visit', 'The agent did not come in the booked window.',
                ((def_start + 7) + time '15:20') AT TIME ZONE d.time_zone,
                '{answered:10:upheld:The agent was taken ill; a visit is booked for you.,closed:24:Thank you}'::text[]),
               (7, 'other', 'The SMS said my documents were collected but I still have them.',
                ((def_start + 10) + time '11:00') AT TIME ZONE d.time_zone,
                '{answered:62:rejected:The agent photographed the documents; the originals stay with you.}'::text[]),
               -- the fortnight running
               (8, 'delay', 'It is past the date and nobody tells us anything.',
                ((cur_start) + time '10:30') AT TIME ZONE d.time_zone,
                '{answered:20:upheld:Sorry for the delay; the certificate will be delivered tomorrow.,closed:30:Received}'::text[]),
               (9, 'missed_visit', 'We were told nobody was at home, but my mother was there.',
                now_ts - interval '5 days 3 hours', '{}'::text[]),
               (10, 'delay', 'Our papers were taken long ago and there is no news.',
                now_ts - interval '65 hours', '{}'::text[]),
               (11, 'conduct', 'The agent was rude to my father.',
                now_ts - interval '20 hours', '{}'::text[]))
               AS x(no, kind, description, raised, steps)
             WHERE x.raised < now_ts ORDER BY x.no LOOP
    SELECT hb.id INTO bid FROM hist_booking hb
     WHERE NOT hb.used
       AND CASE g.kind WHEN 'missed_visit' THEN hb.no_show_at < g.raised - interval '3 hours'
                       WHEN 'delay' THEN hb.due_at < g.raised - interval '3 hours' AND hb.fate <> 'rejected'
                                         AND coalesce(hb.ready_at, 'infinity') > g.raised
                       WHEN 'rejection' THEN hb.rejected_at < g.raised - interval '3 hours'
                       ELSE hb.visited_at < g.raised - interval '3 hours' END
     ORDER BY coalesce(hb.no_show_at, hb.rejected_at, hb.due_at, hb.visited_at) DESC, hb.id LIMIT 1;
    CONTINUE WHEN NOT FOUND;
    UPDATE hist_booking SET used = true WHERE id = bid;
    PERFORM pg_temp.hist_grievance(bid, g.kind, g.description, g.raised, g.steps, now_ts);
  END LOOP;

  -- Every message of the history has been through the gateway: most delivered, some failed
  -- (dead letters the office can send again), a few sent with no delivery report. Visit codes
  -- leave a sent message (as sms_record does with a real gateway).
  UPDATE sms_outbox o
     SET status = m.status, attempts = m.attempts, sent_at = m.sent_at,
         delivered_at = CASE WHEN m.status = 'delivered' THEN m.sent_at + m.lag END,
         updated_at = m.sent_at + CASE WHEN m.status = 'sent' THEN interval '0' ELSE m.lag END,
         next_attempt_at = o.created_at + (m.attempts - 1) * interval '2 minutes',
         gateway_id = 'hist-' || substr(md5(o.dedupe_key), 1, 16),
         last_error = CASE WHEN m.status = 'failed' THEN m.error END,
         body = CASE WHEN o.template IN ('visit_day', 'booking_reassigned') THEN '' ELSE o.body END,
         variables = o.variables - 'code'
    FROM (SELECT x.id,
                 CASE WHEN x.r < 0.015 THEN 'failed' WHEN x.r < 0.03 THEN 'sent' ELSE 'delivered' END AS status,
                 CASE WHEN x.r < 0.015 THEN 1 + floor(random() * 5)::int ELSE 1 END AS attempts,
                 x.created_at + pg_temp.hist_between('2 seconds', '40 seconds') AS sent_at,
                 pg_temp.hist_between('3 seconds', '3 minutes') AS lag,
                 (ARRAY['DLR: absent subscriber', 'DLR: number barred (DND)', 'gateway 400: number not in service',
                        'DLR: handset memory full'])[1 + floor(random() * 4)::int] AS error
            FROM (SELECT s.id, s.created_at, random() AS r FROM sms_outbox s
                   WHERE s.status = 'queued' AND s.booking_id IN (SELECT hb.id FROM hist_booking hb)
                   ORDER BY s.id) x) m
   WHERE o.id = m.id;

  PERFORM set_config('mitan.seed_history', made::text, true);
END $$;
