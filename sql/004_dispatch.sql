-- 004: dispatch — visits flagged for the officer, agents' days off, plan runs, and the
-- SMS of a reassignment.

-- A visit the system could not place or route is flagged here for the nodal officer
-- (GET /api/v1/admin/unplaced), never dropped: 'agent_unavailable' (its agent is off and
-- no capable agent had a unit left in its window), 'frozen_agent_unavailable' (announced
-- already; only an officer's explicit reassignment moves it), 'unroutable' (the planner
-- found no place in any route that keeps its window). NULL when all is well.
ALTER TABLE booking ADD COLUMN needs_attention text
  CHECK (needs_attention IN ('agent_unavailable', 'frozen_agent_unavailable', 'unroutable'));
ALTER TABLE booking ADD COLUMN attention_at timestamptz;
CREATE INDEX booking_needs_attention ON booking (district_id, window_start) WHERE needs_attention IS NOT NULL;
-- The agent's route of a day, in order (GET /api/v1/agent/visits and the officer's view).
CREATE INDEX booking_agent_route ON booking (agent_id, window_start, route_order);

-- An agent marked unavailable for a local day. Their windows of that day keep capacity =
-- booked, so nothing new is booked on them, and the planner leaves them out.
CREATE TABLE agent_unavailable (
  agent_id    int NOT NULL REFERENCES agent(id),
  day         date NOT NULL,
  district_id int NOT NULL REFERENCES district(id),
  reason      text NOT NULL,
  created_by  int,
  created_at  timestamptz NOT NULL,
  PRIMARY KEY (agent_id, day)
);

-- One planning of a zone's day: what it found, for the officer and the benchmarks.
CREATE TABLE plan_run (
  id           bigserial PRIMARY KEY,
  district_id  int NOT NULL REFERENCES district(id),
  zone_id      int NOT NULL REFERENCES zone(id),
  day          date NOT NULL,
  visits       int NOT NULL,
  agents       int NOT NULL,
  routed       int NOT NULL,
  moved        int NOT NULL,
  unroutable   int NOT NULL,
  travel_km    double precision NOT NULL,
  seconds      double precision NOT NULL,
  rounds       int NOT NULL,
  actor_role   text NOT NULL,
  actor_id     bigint,
  created_at   timestamptz NOT NULL
);
CREATE INDEX plan_run_zone_day ON plan_run (zone_id, day, id);

-- The message of a reassignment; {#url#} carries the new agent's name (booking_notify's
-- free-text argument). Added here so that sql/seed/sms_templates.sql can grow separately.
INSERT INTO sms_template (code, language, body) VALUES
('reassigned', 'en', 'Mitan: your home visit {#ref#} ({#service#}) on {#window#} will be made by another agent: {#url#}. Share the visit code only at the door.'),
('reassigned', 'hi', 'मितान: {#service#} की घर पर भेंट {#ref#} ({#window#}) अब दूसरे मितान करेंगे: {#url#}। भेंट कोड केवल दरवाज़े पर बताएं।')
ON CONFLICT (code, language) DO NOTHING;
