-- 005: grievances and their three-tier appeal: a resident's grievance on a booking
-- goes to the district's grievance officer, then on appeal (or when a tier misses its time
-- limit) to the appellate authority, then to the final appellate authority. Every step is a
-- grievance_event (the fortnightly report counts them by action and tier), an audit_log
-- entry and SMS, written in the acting transaction by the functions below, so that the C
-- handlers only check the request's shape and call one function. Every function takes "now"
-- as a parameter (the application clock), never now().

-- The tiers and their time limits, from the moment a grievance reaches the tier.
CREATE TABLE grievance_tier (
  tier        smallint PRIMARY KEY CHECK (tier BETWEEN 1 AND 3),
  code        text NOT NULL UNIQUE
                CHECK (code IN ('grievance_officer', 'appellate_authority', 'final_appellate_authority')),
  name_en     text NOT NULL,
  name_hi     text NOT NULL,
  limit_hours int NOT NULL CHECK (limit_hours BETWEEN 1 AND 8760)
);
INSERT INTO grievance_tier (tier, code, name_en, name_hi, limit_hours) VALUES
  (1, 'grievance_officer', 'Grievance officer', 'शिकायत अधिकारी', 72),
  (2, 'appellate_authority', 'Appellate authority', 'अपीलीय प्राधिकारी', 168),
  (3, 'final_appellate_authority', 'Final appellate authority', 'अंतिम अपीलीय प्राधिकारी', 360);

-- Who answers each tier in a district. A district without a tier-1 authority falls back to
-- its nodal officer (sla_officer, level district); without a tier-2 or tier-3 authority only
-- an administrator can answer there.
CREATE TABLE grievance_authority (
  district_id int NOT NULL REFERENCES district(id),
  tier        smallint NOT NULL REFERENCES grievance_tier(tier),
  staff_id    int NOT NULL REFERENCES staff(id),
  PRIMARY KEY (district_id, tier)
);

CREATE TABLE grievance (
  id               bigserial PRIMARY KEY,
  reference        text NOT NULL UNIQUE
                     CHECK (reference ~ '^GV-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$'),
  district_id      int NOT NULL REFERENCES district(id),
  booking_id       bigint NOT NULL REFERENCES booking(id),
  raised_by        bigint NOT NULL REFERENCES person(id),
  kind             text NOT NULL CHECK (kind IN ('missed_visit', 'delay', 'rejection', 'conduct', 'other')),
  description      text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 1000),
  tier             smallint NOT NULL DEFAULT 1 CHECK (tier BETWEEN 1 AND 3) REFERENCES grievance_tier(tier),
  status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'closed')),
  decision         text CHECK (decision IN ('upheld', 'rejected')),   -- the current tier's answer
  answer           text CHECK (char_length(answer) <= 1000),
  handler_staff_id int REFERENCES staff(id),                           -- who answers the current tier
  tier_started_at  timestamptz NOT NULL,                               -- reached the current tier
  due_at           timestamptz NOT NULL,                               -- tier_started_at + the tier's limit
  flagged_at       timestamptz,                                        -- tier 3 passed its limit
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  closed_at        timestamptz,
  CHECK (due_at > tier_started_at),
  CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
  CHECK (status <> 'answered' OR decision IS NOT NULL)
);
CREATE INDEX grievance_booking ON grievance (booking_id);
CREATE INDEX grievance_district ON grievance (district_id, created_at DESC);
CREATE INDEX grievance_open_due ON grievance (due_at) WHERE status = 'open';

-- A grievance refers to the resident's earlier ones (the same problem again).
CREATE TABLE grievance_link (
  grievance_id bigint NOT NULL REFERENCES grievance(id),
  linked_id    bigint NOT NULL REFERENCES grievance(id),
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (grievance_id, linked_id),
  CHECK (grievance_id <> linked_id)
);
CREATE INDEX grievance_link_linked ON grievance_link (linked_id);

-- Every step. `tier` is the tier the step happened at: for `appealed` and `escalated` the
-- tier left, with the tier reached in `to_tier` (NULL when tier 3 passes its limit: it stays
-- and is flagged). `decision` is set on `answered`.
CREATE TABLE grievance_event (
  id           bigserial PRIMARY KEY,
  grievance_id bigint NOT NULL REFERENCES grievance(id),
  district_id  int NOT NULL REFERENCES district(id),
  action       text NOT NULL
                 CHECK (action IN ('raised', 'reminder', 'escalated', 'answered', 'appealed', 'closed', 'linked')),
  tier         smallint NOT NULL CHECK (tier BETWEEN 1 AND 3),
  to_tier      smallint CHECK (to_tier BETWEEN 2 AND 3),
  decision     text CHECK (decision IN ('upheld', 'rejected')),
  actor_role   text NOT NULL,
  actor_id     bigint,
  at           timestamptz NOT NULL,
  note         text
);
CREATE INDEX grievance_event_grievance ON grievance_event (grievance_id, id);
CREATE INDEX grievance_event_district_at ON grievance_event (district_id, at);
-- A grievance reaches each tier once, so the scheduler's reminder and escalation happen at
-- most once per grievance and tier, however many workers scan.
CREATE UNIQUE INDEX grievance_event_once ON grievance_event (grievance_id, tier, action)
  WHERE action IN ('reminder', 'escalated');

-- ---- labels ----

CREATE FUNCTION grievance_tier_name(p_tier int, lang text) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN lang = 'hi' THEN t.name_hi ELSE t.name_en END FROM grievance_tier t WHERE t.tier = p_tier
$$;

CREATE FUNCTION grievance_kind_label(kind text, lang text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN lang = 'hi' THEN
    CASE kind WHEN 'missed_visit' THEN 'भेंट नहीं हुई' WHEN 'delay' THEN 'देरी' WHEN 'rejection' THEN 'अस्वीकृति'
              WHEN 'conduct' THEN 'कर्मचारी का व्यवहार' ELSE 'अन्य' END
  ELSE
    CASE kind WHEN 'missed_visit' THEN 'missed visit' WHEN 'delay' THEN 'delay' WHEN 'rejection' THEN 'rejection'
              WHEN 'conduct' THEN 'conduct of staff' ELSE 'other' END
  END
$$;

CREATE FUNCTION grievance_decision_label(decision text, lang text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN decision IS NULL THEN NULL
              WHEN lang = 'hi' THEN CASE decision WHEN 'upheld' THEN 'शिकायत सही पाई गई' ELSE 'शिकायत अस्वीकार की गई' END
              ELSE CASE decision WHEN 'upheld' THEN 'upheld' ELSE 'not upheld' END END
$$;

-- "26 Nov, 14:00 IST" / "26 नवंबर, 14:00 IST": a deadline in the reader's language and zone.
CREATE FUNCTION grievance_time_label(t timestamptz, tz text, lang text) RETURNS text
LANGUAGE plpgsql STABLE STRICT AS $$
BEGIN
  RETURN day_label(t, tz, lang) || ', ' || to_char(t AT TIME ZONE tz, 'HH24:MI') || ' ' ||
         CASE WHEN tz = 'Asia/Kolkata' THEN 'IST'
              ELSE 'UTC' || CASE WHEN substr(rfc3339(t, tz), 20) = 'Z' THEN '' ELSE substr(rfc3339(t, tz), 20) END END;
END $$;

-- ---- who may do what ----

-- The staff member who answers `tier` in a district, or NULL (then only an admin can).
CREATE FUNCTION grievance_handler(p_district int, p_tier int) RETURNS int
LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    (SELECT s.id FROM grievance_authority a JOIN staff s ON s.id = a.staff_id AND s.active
      WHERE a.district_id = p_district AND a.tier = p_tier),
    CASE WHEN p_tier = 1 THEN sla_officer(NULL, p_district, 'district') END)
$$;

-- The grievance with this reference if the caller may see it (a resident: the booker or the
-- beneficiary of its booking; officer, committee, admin: their district, or every district
-- when they have none), else NULL.
CREATE FUNCTION grievance_find(p_ref text, p_role text, p_actor bigint, p_district int) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT g.id FROM grievance g JOIN booking b ON b.id = g.booking_id
   WHERE g.reference = p_ref
     AND ((p_role = 'resident' AND (b.booker_id = p_actor OR b.beneficiary_id = p_actor))
       OR (p_role IN ('officer', 'committee', 'admin') AND (p_district = 0 OR g.district_id = p_district)))
$$;

-- ---- messages ----

-- The variables of a grievance message in the reader's language and zone.
CREATE FUNCTION grievance_sms_vars(g grievance, booking_ref text, lang text, tz text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN jsonb_strip_nulls(jsonb_build_object(
    'ref', g.reference,
    'booking', booking_ref,
    'tier', sms_fit(CASE WHEN lang = 'hi' THEN grievance_tier_name(g.tier, lang) ELSE lower(grievance_tier_name(g.tier, lang)) END, 30),
    'due', grievance_time_label(g.due_at, tz, lang),
    'kind', sms_fit(grievance_kind_label(g.kind, lang), 30),
    'decision', sms_fit(grievance_decision_label(g.decision, lang), 30)));
END $$;

-- Queues one message about a grievance to the resident: the beneficiary of its booking and,
-- when another person, the booker, each in their own language and time zone (as
-- booking_notify does), in the caller's transaction. Returns the rows queued (a repeat of a
-- dedupe key queues nothing).
CREATE FUNCTION grievance_notify(p_grievance bigint, p_template text, p_at timestamptz, p_dedupe text)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  n int;
BEGIN
  WITH g AS (
    SELECT g AS grow, g.id, g.reference, g.district_id, g.booking_id, b.reference AS booking_ref,
           b.beneficiary_id, b.booker_id, b.beneficiary_language, d.time_zone AS place_tz
      FROM grievance g JOIN booking b ON b.id = g.booking_id JOIN district d ON d.id = g.district_id
     WHERE g.id = p_grievance),
  rcpt AS (
    SELECT p.id, p.phone, CASE WHEN p.id = g.beneficiary_id THEN g.beneficiary_language ELSE p.language END AS lang,
           CASE WHEN p.id = g.beneficiary_id THEN g.place_tz ELSE p.time_zone END AS tz
      FROM g JOIN person p ON p.id IN (g.beneficiary_id, g.booker_id)),
  msg AS (
    SELECT r.*, grievance_sms_vars(g.grow, g.booking_ref, r.lang, r.tz) AS vars FROM rcpt r CROSS JOIN g),
  ins AS (
    INSERT INTO sms_outbox (district_id, dedupe_key, to_phone, template, language, variables, body,
                            booking_id, next_attempt_at, created_at, updated_at)
    SELECT g.district_id, p_template || ':' || g.reference || ':' || m.id || ':' || p_dedupe, m.phone, p_template,
           m.lang, m.vars, sms_render(t.body, m.vars), g.booking_id, p_at, p_at, p_at
      FROM msg m CROSS JOIN g
      JOIN sms_template t ON t.code = p_template AND t.language = m.lang
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING 1)
  SELECT count(*)::int INTO n FROM ins;
  RETURN n;
END $$;

-- Queues a message about a grievance to a staff member (when they have a phone), in their
-- language, times in the district's zone.
CREATE FUNCTION grievance_staff_notify(p_staff int, p_grievance bigint, p_template text, p_at timestamptz, p_dedupe text)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  n int;
BEGIN
  WITH o AS (SELECT * FROM staff s WHERE s.id = p_staff AND s.phone IS NOT NULL AND s.active),
  g AS (SELECT g AS grow, g.id, g.reference, g.district_id, g.booking_id, b.reference AS booking_ref, d.time_zone
          FROM grievance g JOIN booking b ON b.id = g.booking_id JOIN district d ON d.id = g.district_id
         WHERE g.id = p_grievance),
  v AS (SELECT o.id, o.phone, o.language, grievance_sms_vars(g.grow, g.booking_ref, o.language, g.time_zone) AS vars
          FROM o CROSS JOIN g),
  ins AS (
    INSERT INTO sms_outbox (district_id, dedupe_key, to_phone, template, language, variables, body, booking_id,
                            staff_id, next_attempt_at, created_at, updated_at)
    SELECT g.district_id, p_template || ':' || g.reference || ':s' || v.id || ':' || p_dedupe, v.phone, p_template,
           v.language, v.vars, sms_render(t.body, v.vars), g.booking_id, v.id, p_at, p_at, p_at
      FROM v CROSS JOIN g JOIN sms_template t ON t.code = p_template AND t.language = v.language
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING 1)
  SELECT count(*)::int INTO n FROM ins;
  RETURN n;
END $$;

-- ---- state changes ----

-- Records one step: the event and its audit entry. Returns the event id, or NULL when the
-- step was recorded already (reminder and escalation: once per tier).
CREATE FUNCTION grievance_record(p_grievance bigint, p_action text, p_tier int, p_to_tier int, p_decision text,
                                 p_role text, p_actor bigint, p_at timestamptz, p_note text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  ev bigint;
  ref text;
  district int;
BEGIN
  SELECT g.reference, g.district_id INTO ref, district FROM grievance g WHERE g.id = p_grievance;
  INSERT INTO grievance_event (grievance_id, district_id, action, tier, to_tier, decision, actor_role, actor_id, at, note)
  VALUES (p_grievance, district, p_action, p_tier, p_to_tier, p_decision, p_role, p_actor, p_at, p_note)
  ON CONFLICT (grievance_id, tier, action) WHERE action IN ('reminder', 'escalated') DO NOTHING
  RETURNING id INTO ev;
  IF ev IS NOT NULL THEN
    PERFORM audit_write(district, p_at, p_role, p_actor, 'grievance.' || p_action, 'grievance', ref,
                        jsonb_strip_nulls(jsonb_build_object('event', ev, 'tier', p_tier, 'to_tier', p_to_tier,
                                                             'decision', p_decision)));
  END IF;
  RETURN ev;
END $$;

-- Moves an open or answered grievance up to `p_to` (an appeal, or an escalation when its
-- tier's limit passed): the event, a new handler and due time, the resident's message and
-- the new authority's. The caller holds the row lock.
CREATE FUNCTION grievance_move(p_grievance bigint, p_to int, p_action text, p_role text, p_actor bigint,
                               p_at timestamptz, p_note text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  g grievance;
  h int;
BEGIN
  SELECT * INTO g FROM grievance x WHERE x.id = p_grievance;
  PERFORM grievance_record(g.id, p_action, g.tier, p_to, NULL, p_role, p_actor, p_at, p_note);
  h := grievance_handler(g.district_id, p_to);
  UPDATE grievance x
     SET tier = p_to, status = 'open', decision = NULL, answer = NULL, handler_staff_id = h,
         tier_started_at = p_at,
         due_at = p_at + (SELECT t.limit_hours FROM grievance_tier t WHERE t.tier = p_to) * interval '1 hour',
         flagged_at = NULL, updated_at = p_at
   WHERE x.id = g.id;
  PERFORM grievance_notify(g.id, 'grievance_' || p_action, p_at, 't' || p_to);
  IF h IS NOT NULL THEN
    PERFORM grievance_staff_notify(h, g.id, 'grievance_assigned', p_at, 't' || p_to);
  END IF;
END $$;

-- A resident raises a grievance on a booking they booked or are the beneficiary of, linking
-- their earlier grievances. Outcomes: ok (with the id), booking_not_found, links (a link is
-- not one of the caller's grievances), too_many (10 on one booking already).
CREATE FUNCTION grievance_raise(p_booking text, p_person bigint, p_reference text, p_kind text, p_description text,
                                p_links text[], p_at timestamptz)
RETURNS TABLE (outcome text, grievance_id bigint) LANGUAGE plpgsql AS $$
DECLARE
  b booking;
  gid bigint;
  h int;
  l record;
BEGIN
  -- The booking's row lock orders concurrent grievances on it (the cap below).
  SELECT * INTO b FROM booking x
   WHERE x.reference = p_booking AND (x.booker_id = p_person OR x.beneficiary_id = p_person) FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'booking_not_found', NULL::bigint;
    RETURN;
  END IF;
  IF (SELECT count(*) FROM grievance g WHERE g.booking_id = b.id) >= 10 THEN
    RETURN QUERY SELECT 'too_many', NULL::bigint;
    RETURN;
  END IF;
  IF (SELECT count(DISTINCT x) FROM unnest(coalesce(p_links, '{}')) x) <>
     (SELECT count(DISTINCT x) FROM unnest(coalesce(p_links, '{}')) x
       WHERE grievance_find(x, 'resident', p_person, 0) IS NOT NULL) THEN
    RETURN QUERY SELECT 'links', NULL::bigint;
    RETURN;
  END IF;
  h := grievance_handler(b.district_id, 1);
  INSERT INTO grievance (reference, district_id, booking_id, raised_by, kind, description, tier, status,
                         handler_staff_id, tier_started_at, due_at, created_at, updated_at)
  VALUES (p_reference, b.district_id, b.id, p_person, p_kind, p_description, 1, 'open', h, p_at,
          p_at + (SELECT t.limit_hours FROM grievance_tier t WHERE t.tier = 1) * interval '1 hour', p_at, p_at)
  RETURNING id INTO gid;
  PERFORM grievance_record(gid, 'raised', 1, NULL, NULL, 'resident', p_person, p_at, NULL);
  FOR l IN SELECT g.id, g.reference FROM grievance g
            WHERE g.reference IN (SELECT DISTINCT unnest(coalesce(p_links, '{}'))) ORDER BY g.id LOOP
    INSERT INTO grievance_link (grievance_id, linked_id, created_at) VALUES (gid, l.id, p_at);
    PERFORM grievance_record(gid, 'linked', 1, NULL, NULL, 'resident', p_person, p_at, l.reference);
  END LOOP;
  PERFORM grievance_notify(gid, 'grievance_raised', p_at, 'raised');
  IF h IS NOT NULL THEN
    PERFORM grievance_staff_notify(h, gid, 'grievance_assigned', p_at, 't1');
  END IF;
  RETURN QUERY SELECT 'ok', gid;
END $$;

-- Links one of the caller's grievances to another of theirs. Outcomes: ok, not_found (the
-- grievance), link_unknown (the other is not theirs), link_self. Linking twice is ok and
-- records nothing new.
CREATE FUNCTION grievance_link_add(p_ref text, p_person bigint, p_linked text, p_at timestamptz)
RETURNS TABLE (outcome text, grievance_id bigint) LANGUAGE plpgsql AS $$
DECLARE
  g grievance;
  other bigint;
  added int;
BEGIN
  SELECT * INTO g FROM grievance x WHERE x.id = grievance_find(p_ref, 'resident', p_person, 0) FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found', NULL::bigint;
    RETURN;
  END IF;
  other := grievance_find(p_linked, 'resident', p_person, 0);
  IF other IS NULL THEN
    RETURN QUERY SELECT 'link_unknown', g.id;
    RETURN;
  END IF;
  IF other = g.id THEN
    RETURN QUERY SELECT 'link_self', g.id;
    RETURN;
  END IF;
  INSERT INTO grievance_link (grievance_id, linked_id, created_at) VALUES (g.id, other, p_at)
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS added = ROW_COUNT;
  IF added > 0 THEN
    PERFORM grievance_record(g.id, 'linked', g.tier, NULL, NULL, 'resident', p_person, p_at, p_linked);
    UPDATE grievance x SET updated_at = p_at WHERE x.id = g.id;
  END IF;
  RETURN QUERY SELECT 'ok', g.id;
END $$;

-- The answer of the current tier, by its authority (the handler, or whoever is the tier's
-- authority now) or an admin. Outcomes: ok, not_found (not in the caller's district),
-- forbidden, not_open.
CREATE FUNCTION grievance_answer(p_ref text, p_role text, p_staff bigint, p_district int, p_decision text,
                                 p_note text, p_at timestamptz)
RETURNS TABLE (outcome text, grievance_id bigint) LANGUAGE plpgsql AS $$
DECLARE
  g grievance;
BEGIN
  SELECT * INTO g FROM grievance x WHERE x.id = grievance_find(p_ref, p_role, p_staff, p_district) FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found', NULL::bigint;
    RETURN;
  END IF;
  IF NOT (p_role = 'admin' OR p_staff = g.handler_staff_id
          OR p_staff = (SELECT a.staff_id FROM grievance_authority a WHERE a.district_id = g.district_id AND a.tier = g.tier)) THEN
    RETURN QUERY SELECT 'forbidden', g.id;
    RETURN;
  END IF;
  IF g.status <> 'open' THEN
    RETURN QUERY SELECT 'not_open', g.id;
    RETURN;
  END IF;
  UPDATE grievance x SET status = 'answered', decision = p_decision, answer = p_note, updated_at = p_at WHERE x.id = g.id;
  PERFORM grievance_record(g.id, 'answered', g.tier, NULL, p_decision, p_role, p_staff, p_at, p_note);
  PERFORM grievance_notify(g.id, CASE WHEN g.tier = 3 THEN 'grievance_answered_final' ELSE 'grievance_answered' END,
                           p_at, 'a' || g.tier);
  RETURN QUERY SELECT 'ok', g.id;
END $$;

-- The resident's appeal to the next tier: allowed once the tier answered, or when it is
-- still open past its due time. Outcomes: ok, not_found, closed, no_further_appeal, not_due.
CREATE FUNCTION grievance_appeal(p_ref text, p_person bigint, p_note text, p_at timestamptz)
RETURNS TABLE (outcome text, grievance_id bigint) LANGUAGE plpgsql AS $$
DECLARE
  g grievance;
BEGIN
  SELECT * INTO g FROM grievance x WHERE x.id = grievance_find(p_ref, 'resident', p_person, 0) FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found', NULL::bigint;
    RETURN;
  END IF;
  IF g.status = 'closed' THEN
    RETURN QUERY SELECT 'closed', g.id;
    RETURN;
  END IF;
  IF g.tier = 3 THEN
    RETURN QUERY SELECT 'no_further_appeal', g.id;
    RETURN;
  END IF;
  IF g.status = 'open' AND p_at < g.due_at THEN
    RETURN QUERY SELECT 'not_due', g.id;
    RETURN;
  END IF;
  PERFORM grievance_move(g.id, g.tier + 1, 'appealed', 'resident', p_person, p_at, p_note);
  RETURN QUERY SELECT 'ok', g.id;
END $$;

-- The resident closes the grievance (satisfied, or giving up). Outcomes: ok, not_found, closed.
CREATE FUNCTION grievance_close(p_ref text, p_person bigint, p_note text, p_at timestamptz)
RETURNS TABLE (outcome text, grievance_id bigint) LANGUAGE plpgsql AS $$
DECLARE
  g grievance;
BEGIN
  SELECT * INTO g FROM grievance x WHERE x.id = grievance_find(p_ref, 'resident', p_person, 0) FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found', NULL::bigint;
    RETURN;
  END IF;
  IF g.status = 'closed' THEN
    RETURN QUERY SELECT 'closed', g.id;
    RETURN;
  END IF;
  UPDATE grievance x SET status = 'closed', closed_at = p_at, updated_at = p_at WHERE x.id = g.id;
  PERFORM grievance_record(g.id, 'closed', g.tier, NULL, NULL, 'resident', p_person, p_at, p_note);
  PERFORM grievance_notify(g.id, 'grievance_closed', p_at, 'closed');
  RETURN QUERY SELECT 'ok', g.id;
END $$;

-- ---- the scheduler's pass (run with the SLA scan, every 10 minutes) ----

-- For each open grievance: at 80 % of its tier's limit a reminder to the handler; at 100 %
-- tiers 1 and 2 escalate to the next tier (new handler and due time, the resident told) and
-- tier 3 stays, flagged once (the resident and the handler told). Each step once per tier.
-- Returns the steps taken.
CREATE FUNCTION grievance_scan(p_at timestamptz) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  g grievance;
  n int := 0;
BEGIN
  FOR g IN
    SELECT * FROM grievance x
     WHERE x.status = 'open' AND x.flagged_at IS NULL
       AND p_at >= x.due_at - (x.due_at - x.tier_started_at) * 0.2
       AND (p_at >= x.due_at OR NOT EXISTS (SELECT 1 FROM grievance_event e
                                              WHERE e.grievance_id = x.id AND e.tier = x.tier AND e.action = 'reminder'))
     ORDER BY x.due_at, x.id
     FOR UPDATE SKIP LOCKED
  LOOP
    IF p_at < g.due_at THEN
      IF grievance_record(g.id, 'reminder', g.tier, NULL, NULL, 'system', NULL, p_at, NULL) IS NOT NULL THEN
        n := n + 1;
        IF g.handler_staff_id IS NOT NULL THEN
          PERFORM grievance_staff_notify(g.handler_staff_id, g.id, 'grievance_reminder', p_at, 'r' || g.tier);
        END IF;
      END IF;
    ELSIF g.tier < 3 THEN
      PERFORM grievance_move(g.id, g.tier + 1, 'escalated', 'system', NULL, p_at, NULL);
      n := n + 1;
    ELSIF grievance_record(g.id, 'escalated', 3, NULL, NULL, 'system', NULL, p_at, NULL) IS NOT NULL THEN
      UPDATE grievance x SET flagged_at = p_at, updated_at = p_at WHERE x.id = g.id;
      PERFORM grievance_notify(g.id, 'grievance_flagged', p_at, 'flagged');
      IF g.handler_staff_id IS NOT NULL THEN
        PERFORM grievance_staff_notify(g.handler_staff_id, g.id, 'grievance_overdue', p_at, 'flagged');
      END IF;
      n := n + 1;
    END IF;
  END LOOP;
  RETURN n;
END $$;

-- ---- replies ----

-- A grievance as its resident and the district's staff see it, times in the district's zone;
-- `can_appeal` and `overdue` at `p_at`.
CREATE FUNCTION grievance_json(p_grievance bigint, lang text, p_at timestamptz) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT jsonb_build_object(
    'reference', g.reference,
    'booking', b.reference,
    'service', jsonb_build_object('code', s.code, 'name', CASE WHEN lang = 'hi' THEN s.name_hi ELSE s.name_en END,
                                  'name_en', s.name_en, 'name_hi', s.name_hi),
    'district', d.code,
    'zone', z.code,
    'kind', g.kind,
    'description', g.description,
    'tier', g.tier,
    'tier_code', t.code,
    'tier_name', CASE WHEN lang = 'hi' THEN t.name_hi ELSE t.name_en END,
    'tier_name_en', t.name_en, 'tier_name_hi', t.name_hi,
    'limit_hours', t.limit_hours,
    'status', g.status,
    'decision', g.decision,
    'answer', g.answer,
    'handler', (SELECT jsonb_build_object('name', h.name) FROM staff h WHERE h.id = g.handler_staff_id),
    'due_at', rfc3339(g.due_at, d.time_zone),
    'overdue', g.status = 'open' AND p_at >= g.due_at,
    'flagged', g.flagged_at IS NOT NULL,
    'can_appeal', g.tier < 3 AND (g.status = 'answered' OR (g.status = 'open' AND p_at >= g.due_at)),
    'created_at', rfc3339(g.created_at, d.time_zone),
    'updated_at', rfc3339(g.updated_at, d.time_zone),
    'closed_at', CASE WHEN g.closed_at IS NULL THEN NULL ELSE rfc3339(g.closed_at, d.time_zone) END,
    'links', (SELECT coalesce(jsonb_agg(jsonb_build_object('reference', o.reference, 'booking', ob.reference,
                                                           'kind', o.kind, 'tier', o.tier, 'status', o.status)
                                        ORDER BY o.id), '[]'::jsonb)
                FROM grievance_link l JOIN grievance o ON o.id = l.linked_id JOIN booking ob ON ob.id = o.booking_id
               WHERE l.grievance_id = g.id),
    'linked_by', (SELECT coalesce(jsonb_agg(jsonb_build_object('reference', o.reference, 'booking', ob.reference,
                                                               'kind', o.kind, 'tier', o.tier, 'status', o.status)
                                            ORDER BY o.id), '[]'::jsonb)
                    FROM grievance_link l JOIN grievance o ON o.id = l.grievance_id JOIN booking ob ON ob.id = o.booking_id
                   WHERE l.linked_id = g.id),
    'events', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'at', rfc3339(e.at, d.time_zone), 'action', e.action, 'tier', e.tier, 'to_tier', e.to_tier,
                        'decision', e.decision, 'by', e.actor_role,
                        'by_name', CASE WHEN e.actor_role IN ('officer', 'committee', 'admin')
                                        THEN (SELECT st.name FROM staff st WHERE st.id = e.actor_id) END,
                        'note', e.note) ORDER BY e.id), '[]'::jsonb)
                 FROM grievance_event e WHERE e.grievance_id = g.id))
    FROM grievance g
    JOIN booking b ON b.id = g.booking_id
    JOIN service s ON s.code = b.service_code
    JOIN district d ON d.id = g.district_id
    JOIN zone z ON z.id = b.zone_id
    JOIN grievance_tier t ON t.tier = g.tier
   WHERE g.id = p_grievance);
END $$;
