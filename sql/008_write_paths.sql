-- One writer per record that every change leaves behind.
--
-- audit_write is the only statement that inserts into audit_log: C calls it through
-- core/audit.c, SQL functions call it directly. booking_change_record is the only one that
-- inserts into booking_event; C calls it from dispatch/booking/change.c, which holds the
-- booking's transition table (what may change, by whom, and what else happens with it).

CREATE FUNCTION audit_write(p_district int, p_at timestamptz, p_role text, p_actor bigint, p_action text,
                            p_object_type text, p_object_ref text, p_detail jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  id bigint;
BEGIN
  INSERT INTO audit_log (district_id, at, actor_role, actor_id, action, object_type, object_ref, detail)
  VALUES (p_district, p_at, p_role, p_actor, p_action, p_object_type, p_object_ref, coalesce(p_detail, '{}'))
  RETURNING audit_log.id INTO id;
  RETURN id;
END $$;

-- The event of one change of a booking and its audit entry ('booking.<action>', with the
-- event, the statuses and `p_detail`). Returns the event's id.
CREATE FUNCTION booking_change_record(p_booking bigint, p_action text, p_from text, p_to text, p_role text,
                                      p_actor bigint, p_at timestamptz, p_note text, p_location geometry,
                                      p_detail jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  b record;
  ev bigint;
BEGIN
  SELECT x.district_id, x.reference INTO b FROM booking x WHERE x.id = p_booking;
  INSERT INTO booking_event (booking_id, district_id, action, from_status, to_status, actor_role, actor_id, at,
                             location, note)
  VALUES (p_booking, b.district_id, p_action, p_from, p_to, p_role, p_actor, p_at, p_location, p_note)
  RETURNING id INTO ev;
  PERFORM audit_write(b.district_id, p_at, p_role, p_actor, 'booking.' || p_action, 'booking', b.reference,
                      jsonb_build_object('event', ev, 'from', p_from, 'to', p_to) || coalesce(p_detail, '{}'));
  RETURN ev;
END $$;

-- The generic status message was sent by a trigger on booking_event; it is now a side
-- effect named in the transition table, like every other message of a change.
DROP TRIGGER booking_event_sms ON booking_event;
DROP FUNCTION booking_event_notify();

-- The reassignment message names the new agent through {#agent#}, like every other message,
-- instead of carrying the name in {#url#}.
UPDATE sms_template SET body = replace(body, '{#url#}', '{#agent#}') WHERE code = 'reassigned';
