-- Random bookings for one zone's day, each taking a unit the way dispatch/booking/booking.c does
-- (booking_take_unit: the nearest capable agent with a unit left in the window, GiST KNN).
-- Used by the city benchmark and the planning integration test, never by the server.
--   psql -v zone=RPR-Z1 -v day=2026-12-01 -v n=100 -v seed=0.42 -f book_random.sql
-- Places are uniform in the zone's bounding box (kept when inside the zone); the window
-- and the service are uniform among the zone's windows of that day and the active services.
SELECT set_config('bench.zone', :'zone', false), set_config('bench.day', :'day', false),
       set_config('bench.n', :'n', false), setseed(:seed);
DO $$
DECLARE
  z record;
  want int := current_setting('bench.n')::int;
  made int := 0;
  tries int := 0;
  p geometry;
  w record;
  s record;
  a int;
  person_id bigint;
  ref text;
BEGIN
  SELECT zz.id, zz.district_id, zz.area, d.time_zone INTO z FROM zone zz JOIN district d ON d.id = zz.district_id
   WHERE zz.code = current_setting('bench.zone');
  INSERT INTO person (phone, name, created_at) VALUES ('+910000000001', 'Bench resident', now())
  ON CONFLICT (phone) DO NOTHING;
  SELECT id INTO person_id FROM person WHERE phone = '+910000000001';
  WHILE made < want AND tries < want * 20 LOOP
    tries := tries + 1;
    p := ST_SetSRID(ST_MakePoint(ST_XMin(z.area) + random() * (ST_XMax(z.area) - ST_XMin(z.area)),
                                 ST_YMin(z.area) + random() * (ST_YMax(z.area) - ST_YMin(z.area))), 4326);
    CONTINUE WHEN NOT ST_Covers(z.area, p);
    SELECT t.starts_at, t.ends_at INTO w FROM (SELECT DISTINCT starts_at, ends_at FROM agent_window
       WHERE zone_id = z.id AND (starts_at AT TIME ZONE z.time_zone)::date = current_setting('bench.day')::date) t
     ORDER BY random() LIMIT 1;
    EXIT WHEN w IS NULL;
    SELECT code, department, fee_paise INTO s FROM service WHERE active ORDER BY random() LIMIT 1;
    WITH pick AS (SELECT ww.agent_id, ww.starts_at FROM agent_window ww JOIN agent ag ON ag.id = ww.agent_id
                   WHERE ww.zone_id = z.id AND ww.starts_at = w.starts_at AND ww.booked < ww.capacity AND ag.active
                     AND ag.skills && ARRAY[s.code, s.department, '*']
                   ORDER BY ag.base <-> p::geography, ag.id LIMIT 1 FOR UPDATE OF ww SKIP LOCKED)
    UPDATE agent_window ww SET booked = ww.booked + 1 FROM pick
     WHERE ww.agent_id = pick.agent_id AND ww.starts_at = pick.starts_at RETURNING ww.agent_id INTO a;
    CONTINUE WHEN a IS NULL;
    ref := 'BN-' || upper(substr(md5(random()::text || clock_timestamp()::text), 1, 14));
    INSERT INTO booking (district_id, reference, tracking_hash, service_code, booker_id, beneficiary_id,
                         beneficiary_name, beneficiary_language, address, location, zone_id, window_start,
                         window_end, agent_id, status, fee_paise, created_by_role, created_by_id, created_at, updated_at)
    VALUES (z.district_id, ref, sha256(convert_to(ref, 'UTF8')), s.code, person_id, person_id, 'Bench', 'hi',
            'Bench address', p, z.id, w.starts_at, w.ends_at, a, 'booked', s.fee_paise, 'operator', 0, now(), now());
    made := made + 1;
    a := NULL;
  END LOOP;
  RAISE NOTICE 'booked % of % in %', made, want, current_setting('bench.zone');
END $$;
