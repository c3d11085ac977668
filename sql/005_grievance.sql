-- 005 PLACEHOLDER (branch `report` only): the five grievance tables exactly as
-- /tmp/issue6/contracts.md section B names them, so that the fortnightly report (006) can
-- be built and tested before the grievance branch lands. The lead replaces this file with
-- the real sql/005_grievance.sql at merge; nothing else of the report depends on it.

CREATE TABLE grievance_tier (
  tier        smallint PRIMARY KEY CHECK (tier BETWEEN 1 AND 3),
  code        text NOT NULL UNIQUE CHECK (code IN ('grievance_officer', 'appellate_authority', 'final_appellate_authority')),
  name_en     text NOT NULL,
  name_hi     text NOT NULL,
  limit_hours int NOT NULL CHECK (limit_hours > 0)
);

CREATE TABLE grievance_authority (
  district_id int NOT NULL REFERENCES district(id),
  tier        smallint NOT NULL REFERENCES grievance_tier(tier),
  staff_id    int NOT NULL REFERENCES staff(id),
  PRIMARY KEY (district_id, tier)
);

CREATE TABLE grievance (
  id               bigserial PRIMARY KEY,
  reference        text NOT NULL UNIQUE,
  district_id      int NOT NULL REFERENCES district(id),
  booking_id       bigint NOT NULL REFERENCES booking(id),
  raised_by        bigint NOT NULL REFERENCES person(id),
  kind             text NOT NULL CHECK (kind IN ('missed_visit', 'delay', 'rejection', 'conduct', 'other')),
  description      text NOT NULL CHECK (length(description) <= 1000),
  tier             smallint NOT NULL CHECK (tier BETWEEN 1 AND 3),
  status           text NOT NULL CHECK (status IN ('open', 'answered', 'closed')),
  handler_staff_id int REFERENCES staff(id),
  due_at           timestamptz,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  closed_at        timestamptz
);

CREATE TABLE grievance_link (
  grievance_id bigint NOT NULL REFERENCES grievance(id),
  linked_id    bigint NOT NULL REFERENCES grievance(id),
  PRIMARY KEY (grievance_id, linked_id),
  CHECK (grievance_id <> linked_id)
);

CREATE TABLE grievance_event (
  id           bigserial PRIMARY KEY,
  grievance_id bigint NOT NULL REFERENCES grievance(id),
  district_id  int NOT NULL REFERENCES district(id),
  action       text NOT NULL CHECK (action IN ('raised', 'reminder', 'escalated', 'answered', 'appealed', 'closed', 'linked')),
  tier         smallint NOT NULL CHECK (tier BETWEEN 1 AND 3),
  actor_role   text NOT NULL,
  actor_id     bigint,
  at           timestamptz NOT NULL,
  note         text
);
