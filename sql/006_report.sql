-- 006: the district committee's fortnightly report. Every figure is computed here,
-- from the events: booking_event (bookings), sms_outbox (messages) and grievance_event
-- (grievances). docs/REPORT.md defines each figure in words; this file is the definition.
-- "now" is the application clock, passed in (never now()). Grievance events are read by
-- grievance_event (district_id, at), an index of sql/005.
--
-- A fortnight is 'YYYY-MM-1' (local days 1–15) or 'YYYY-MM-2' (16 to the month's end) in the
-- district's time zone; its events are those at [first day 00:00 local, last day + 1 00:00
-- local), and never later than now: a fortnight still running is reported up to now.

CREATE INDEX booking_event_district_at ON booking_event (district_id, at);
CREATE INDEX booking_event_district_collected ON booking_event (district_id, at) WHERE to_status = 'documents_collected';
CREATE INDEX sms_outbox_district_created ON sms_outbox (district_id, created_at);

-- The fortnight of a local day: 'YYYY-MM-1' or 'YYYY-MM-2'.
CREATE FUNCTION report_period_code(day date) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT to_char(day, 'YYYY-MM') || CASE WHEN extract(day FROM day) <= 15 THEN '-1' ELSE '-2' END
$$;

-- The first and last local day of a fortnight code; NULLs when the code is not one.
CREATE FUNCTION report_period_days(code text, OUT first_day date, OUT last_day date)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  m date;
BEGIN
  IF code IS NULL OR code !~ '^[0-9]{4}-(0[1-9]|1[0-2])-[12]$' THEN
    RETURN;
  END IF;
  m := make_date(left(code, 4)::int, substr(code, 6, 2)::int, 1);
  IF right(code, 1) = '1' THEN
    first_day := m;
    last_day := m + 14;
  ELSE
    first_day := m + 15;
    last_day := (m + interval '1 month')::date - 1;
  END IF;
END $$;

-- The seven booking figures of a group, from its counts; sla_met_pct is NULL when no case
-- of the group had its time limit decided in the period.
CREATE FUNCTION report_counts(booked bigint, visited bigint, completed bigint, cancelled bigint, no_show bigint,
                              failed bigint, sla_decided bigint, sla_met bigint) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('booked', coalesce(booked, 0), 'visited', coalesce(visited, 0),
                            'completed', coalesce(completed, 0), 'cancelled', coalesce(cancelled, 0),
                            'no_show', coalesce(no_show, 0), 'failed', coalesce(failed, 0),
                            'sla_met_pct', CASE WHEN sla_decided > 0 THEN round(100.0 * sla_met / sla_decided, 1) END)
$$;

-- The figures of one district and fortnight [p_first, p_last] (local days) as of p_now:
-- {totals, by_service, by_zone, by_agent, median_hours, overdue, sms, grievances}.
CREATE FUNCTION report_figures(p_district int, p_first date, p_last date, p_now timestamptz) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  tz text := (SELECT d.time_zone FROM district d WHERE d.id = p_district);
  t0 timestamptz := p_first::timestamp AT TIME ZONE tz;
  t1 timestamptz := (p_last + 1)::timestamp AT TIME ZONE tz;
  cut timestamptz := least(t1, p_now);   -- the end of what is counted
  bookings jsonb;
  sms jsonb;
  grievances jsonb;
BEGIN
  -- ---- bookings ----
  WITH cand AS MATERIALIZED (
    -- Bookings with an event in the period, and cases whose time limit may be decided in it
    -- or be overdue at its end (documents collected, neither completed nor rejected before it).
    SELECT e.booking_id FROM booking_event e
     WHERE e.district_id = p_district AND e.at >= t0 AND e.at < cut
    UNION
    SELECT c.booking_id FROM booking_event c
     WHERE c.district_id = p_district AND c.to_status = 'documents_collected' AND c.at < cut
       AND NOT EXISTS (SELECT 1 FROM booking_event x WHERE x.booking_id = c.booking_id
                         AND x.to_status IN ('certificate_ready', 'delivered', 'rejected') AND x.at < t0)),
  ev AS (
    -- One row per booking: what its events up to the cut say.
    SELECT e.booking_id,
           min(e.at) FILTER (WHERE e.action = 'created') AS created_at,
           min(e.at) FILTER (WHERE e.to_status = 'arrived') AS arrived_at,
           coalesce(bool_or(e.to_status = 'arrived' AND e.at >= t0), false) AS visited_in,
           coalesce(bool_or(e.to_status = 'cancelled' AND e.at >= t0), false) AS cancelled_in,
           coalesce(bool_or(e.to_status = 'no_show' AND e.at >= t0), false) AS no_show_in,
           coalesce(bool_or(e.to_status = 'failed' AND e.at >= t0), false) AS failed_in,
           min(e.at) FILTER (WHERE e.to_status = 'documents_collected') AS started_at,
           coalesce(min(e.at) FILTER (WHERE e.to_status = 'certificate_ready'),
                    min(e.at) FILTER (WHERE e.to_status = 'delivered')) AS done_at,
           min(e.at) FILTER (WHERE e.to_status = 'rejected') AS rejected_at,
           (array_agg(e.to_status ORDER BY e.at DESC, e.id DESC))[1] AS status_at_cut
      FROM booking_event e JOIN cand ON cand.booking_id = e.booking_id
     WHERE e.at < cut
     GROUP BY e.booking_id),
  f AS (
    -- Groups are the booking's service, zone and (current) agent.
    SELECT b.id, b.reference, b.service_code, b.zone_id, b.agent_id, s.sla_days, ev.*
      FROM ev JOIN booking b ON b.id = ev.booking_id JOIN service s ON s.code = b.service_code),
  g AS (
    SELECT f.*, due.due_at,
           f.created_at >= t0 AS booked_in,
           f.done_at >= t0 AS completed_in,
           -- The time limit is decided when the case completes in time, or at its due time.
           (f.started_at IS NOT NULL AND dec.decided_at >= t0 AND dec.decided_at < cut
            AND (f.rejected_at IS NULL OR f.rejected_at > dec.decided_at)) AS sla_in,
           coalesce(f.done_at <= due.due_at, false) AS sla_met
      FROM f
      CROSS JOIN LATERAL (SELECT f.started_at + f.sla_days * interval '1 day' AS due_at) due
      CROSS JOIN LATERAL (SELECT CASE WHEN f.done_at <= due.due_at THEN f.done_at ELSE due.due_at END AS decided_at) dec),
  agg AS (
    SELECT GROUPING(g.service_code, g.zone_id, g.agent_id) AS gs, g.service_code, g.zone_id, g.agent_id,
           count(*) FILTER (WHERE g.booked_in OR g.visited_in OR g.completed_in OR g.cancelled_in OR g.no_show_in
                              OR g.failed_in OR g.sla_in) AS active,
           report_counts(count(*) FILTER (WHERE g.booked_in), count(*) FILTER (WHERE g.visited_in),
                         count(*) FILTER (WHERE g.completed_in), count(*) FILTER (WHERE g.cancelled_in),
                         count(*) FILTER (WHERE g.no_show_in), count(*) FILTER (WHERE g.failed_in),
                         count(*) FILTER (WHERE g.sla_in), count(*) FILTER (WHERE g.sla_in AND g.sla_met)) AS figures
      FROM g GROUP BY GROUPING SETS ((), (g.service_code), (g.zone_id), (g.agent_id)))
  SELECT jsonb_build_object(
    'totals', coalesce((SELECT a.figures FROM agg a WHERE a.gs = 7), report_counts(0, 0, 0, 0, 0, 0, 0, 0)),
    'by_service', coalesce((
      SELECT jsonb_agg(jsonb_build_object('code', s.code, 'name_en', s.name_en, 'name_hi', s.name_hi) || a.figures
                       ORDER BY s.code)
        FROM agg a JOIN service s ON s.code = a.service_code WHERE a.gs = 3 AND a.active > 0), '[]'::jsonb),
    'by_zone', coalesce((
      SELECT jsonb_agg(jsonb_build_object('code', z.code, 'name_en', z.name_en, 'name_hi', z.name_hi) ||
                       coalesce(a.figures, report_counts(0, 0, 0, 0, 0, 0, 0, 0)) ORDER BY z.code)
        FROM zone z LEFT JOIN agg a ON a.gs = 5 AND a.zone_id = z.id
       WHERE z.district_id = p_district), '[]'::jsonb),
    'by_agent', coalesce((
      SELECT jsonb_agg(jsonb_build_object('code', ag.code, 'name', ag.name, 'zone', z.code) ||
                       coalesce(a.figures, report_counts(0, 0, 0, 0, 0, 0, 0, 0)) ORDER BY ag.code)
        FROM agent ag JOIN zone z ON z.id = ag.zone_id LEFT JOIN agg a ON a.gs = 6 AND a.agent_id = ag.id
       WHERE ag.district_id = p_district AND (ag.active OR a.active > 0)), '[]'::jsonb),
    'median_hours', jsonb_build_object(
      'booking_to_visit', (SELECT round((percentile_cont(0.5) WITHIN GROUP (
                                    ORDER BY extract(epoch FROM g.arrived_at - g.created_at) / 3600))::numeric, 1)
                             FROM g WHERE g.arrived_at >= t0 AND g.created_at IS NOT NULL),
      'collection_to_certificate', (SELECT round((percentile_cont(0.5) WITHIN GROUP (
                                    ORDER BY extract(epoch FROM g.done_at - g.started_at) / 3600))::numeric, 1)
                                      FROM g WHERE g.completed_in AND g.started_at IS NOT NULL)),
    'overdue', coalesce((
      SELECT jsonb_agg(jsonb_build_object(
               'reference', g.reference, 'service', g.service_code, 'zone', z.code, 'status', g.status_at_cut,
               'due_at', rfc3339(g.due_at, tz),
               'days_overdue', round((extract(epoch FROM cut - g.due_at) / 86400)::numeric, 1),
               'officer', (SELECT jsonb_build_object('name', s.name, 'login', s.login)
                             FROM staff s WHERE s.id = sla_officer(g.zone_id, p_district, 'zone')))
             ORDER BY g.due_at, g.reference)
        FROM g JOIN zone z ON z.id = g.zone_id
       WHERE g.started_at IS NOT NULL AND g.due_at < cut AND g.done_at IS NULL AND g.rejected_at IS NULL), '[]'::jsonb))
  INTO bookings;

  -- ---- SMS: the district's messages created in the period, by their status now ----
  SELECT jsonb_build_object(
           'total', count(*),
           'delivered', count(*) FILTER (WHERE m.status = 'delivered'),
           'sent', count(*) FILTER (WHERE m.status = 'sent'),
           'failed', count(*) FILTER (WHERE m.status = 'failed'),
           'pending', count(*) FILTER (WHERE m.status IN ('queued', 'sending')),
           'delivery_rate_pct', CASE WHEN count(*) FILTER (WHERE m.status IN ('delivered', 'sent', 'failed')) > 0
             THEN round(100.0 * count(*) FILTER (WHERE m.status = 'delivered')
                        / count(*) FILTER (WHERE m.status IN ('delivered', 'sent', 'failed')), 1) END)
    INTO sms
    FROM sms_outbox m WHERE m.district_id = p_district AND m.created_at >= t0 AND m.created_at < cut;

  -- ---- grievances ----
  -- grievance_event.tier is the tier a step happened at; `appealed` and `escalated` leave it
  -- for the next one (an escalation at tier 3 moves nowhere: the grievance stays, flagged).
  WITH e1 AS (
    SELECT e.id, e.grievance_id, e.action, e.tier, e.at,
           CASE WHEN e.action = 'raised' THEN 1
                WHEN e.action IN ('appealed', 'escalated') AND e.tier < 3 THEN e.tier + 1 END AS reached
      FROM grievance_event e WHERE e.district_id = p_district AND e.at < cut),
  e2 AS (
    -- after each event: the grievance's tier, and since when it is at that tier
    SELECT e1.*, coalesce(e1.reached, e1.tier) AS tier_after,
           max(e1.at) FILTER (WHERE e1.reached IS NOT NULL)
             OVER (PARTITION BY e1.grievance_id ORDER BY e1.at, e1.id) AS tier_since
      FROM e1),
  ev AS (
    SELECT e2.*, e2.at >= t0 AS in_period, e2.tier_since + t.limit_hours * interval '1 hour' AS tier_due
      FROM e2 LEFT JOIN grievance_tier t ON t.tier = e2.tier_after),
  last_state AS (
    SELECT DISTINCT ON (ev.grievance_id) ev.*
      FROM ev WHERE ev.action IN ('raised', 'appealed', 'escalated', 'answered', 'closed')
     ORDER BY ev.grievance_id, ev.at DESC, ev.id DESC)
  SELECT jsonb_build_object(
    'raised', (SELECT count(*) FROM ev WHERE ev.in_period AND ev.action = 'raised'),
    'answered', (SELECT count(*) FROM ev WHERE ev.in_period AND ev.action = 'answered'),
    'appealed', (SELECT count(*) FROM ev WHERE ev.in_period AND ev.action = 'appealed'),
    'escalated', (SELECT count(*) FROM ev WHERE ev.in_period AND ev.action = 'escalated'),
    'closed', (SELECT count(*) FROM ev WHERE ev.in_period AND ev.action = 'closed'),
    'open_overdue', (SELECT count(*) FROM last_state l
                      WHERE l.action IN ('raised', 'appealed', 'escalated') AND l.tier_due < cut),
    'by_tier', coalesce((
      SELECT jsonb_agg(jsonb_build_object(
               'tier', t.tier, 'name_en', t.name_en, 'name_hi', t.name_hi,
               'raised', x.received, 'answered', x.answered, 'escalated', x.escalated,
               'within_limit_pct', CASE WHEN x.answered + x.escalated > 0
                                        THEN round(100.0 * x.in_time / (x.answered + x.escalated), 1) END)
             ORDER BY t.tier)
        FROM grievance_tier t
        CROSS JOIN LATERAL (
          SELECT count(*) FILTER (WHERE ev.reached = t.tier) AS received,
                 count(*) FILTER (WHERE ev.action = 'answered' AND ev.tier = t.tier) AS answered,
                 count(*) FILTER (WHERE ev.action = 'answered' AND ev.tier = t.tier AND ev.at <= ev.tier_due) AS in_time,
                 count(*) FILTER (WHERE ev.action = 'escalated' AND ev.tier = t.tier) AS escalated
            FROM ev WHERE ev.in_period) x), '[]'::jsonb))
    INTO grievances;

  RETURN bookings || jsonb_build_object('sms', sms, 'grievances', grievances);
END $$;

-- The district's fortnight as the committee reads it; p_period NULL = the last complete
-- fortnight before p_now. NULL when the district is unknown, the code is not a fortnight,
-- or the fortnight has not begun at p_now.
CREATE FUNCTION report_fortnightly(p_district int, p_period text, p_now timestamptz) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
  d district;
  code text := p_period;
  cur record;
  prev record;
  prev_code text;
  cur_fig jsonb;
  prev_fig jsonb;
BEGIN
  SELECT * INTO d FROM district x WHERE x.id = p_district;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF code IS NULL THEN
    code := report_period_code((SELECT p.first_day FROM report_period_days(
                                  report_period_code((p_now AT TIME ZONE d.time_zone)::date)) p) - 1);
  END IF;
  SELECT * INTO cur FROM report_period_days(code);
  IF cur.first_day IS NULL OR cur.first_day::timestamp AT TIME ZONE d.time_zone > p_now THEN
    RETURN NULL;
  END IF;
  prev_code := report_period_code(cur.first_day - 1);
  SELECT * INTO prev FROM report_period_days(prev_code);
  cur_fig := report_figures(d.id, cur.first_day, cur.last_day, p_now);
  prev_fig := report_figures(d.id, prev.first_day, prev.last_day, p_now);
  RETURN jsonb_build_object(
    'district', jsonb_build_object('code', d.code, 'name_en', d.name_en, 'name_hi', d.name_hi, 'time_zone', d.time_zone),
    'period', jsonb_build_object('code', code, 'from', cur.first_day, 'to', cur.last_day,
                                 'complete', (cur.last_day + 1)::timestamp AT TIME ZONE d.time_zone <= p_now),
    'generated_at', rfc3339(p_now, d.time_zone),
    'previous', jsonb_build_object(
      'period', jsonb_build_object('code', prev_code, 'from', prev.first_day, 'to', prev.last_day),
      'totals', prev_fig->'totals', 'median_hours', prev_fig->'median_hours', 'sms', prev_fig->'sms',
      'grievances', (prev_fig->'grievances') - 'by_tier')) || cur_fig;
END $$;
