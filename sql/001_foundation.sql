-- 001: the foundation — places, the catalogue, people, agents and their capacity ledger,
-- bookings and their events, sessions, OTP, the SMS outbox, idempotency and the audit log.
-- Every table that grows carries district_id so that it can be distributed by district later.

CREATE EXTENSION IF NOT EXISTS postgis;

-- RFC 3339 text of an instant in an IANA zone, using PostgreSQL's time zone database.
CREATE FUNCTION rfc3339(t timestamptz, tz text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  local timestamp := t AT TIME ZONE tz;
  off interval := local - (t AT TIME ZONE 'UTC');
BEGIN
  RETURN to_char(local, 'YYYY-MM-DD"T"HH24:MI:SS') ||
         CASE WHEN off = interval '0' THEN 'Z'
              ELSE CASE WHEN off < interval '0' THEN '-' ELSE '+' END || to_char(abs(extract(epoch FROM off))::int * interval '1 second', 'HH24:MI')
         END;
END $$;

CREATE TABLE district (
  id         serial PRIMARY KEY,
  code       text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9-]{2,16}$'),
  name_en    text NOT NULL,
  name_hi    text NOT NULL,
  time_zone  text NOT NULL DEFAULT 'Asia/Kolkata'
);

CREATE TABLE zone (
  id          serial PRIMARY KEY,
  district_id int NOT NULL REFERENCES district(id),
  code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9-]{2,16}$'),
  name_en     text NOT NULL,
  name_hi     text NOT NULL,
  area        geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(area))
);
CREATE INDEX zone_area_gist ON zone USING gist (area);

-- The day's visit windows of a zone, in the district's local time.
CREATE TABLE slot_template (
  zone_id     int NOT NULL REFERENCES zone(id),
  window_no   smallint NOT NULL CHECK (window_no BETWEEN 1 AND 24),
  start_local time NOT NULL,
  end_local   time NOT NULL CHECK (end_local > start_local),
  PRIMARY KEY (zone_id, window_no)
);

CREATE TABLE service (
  code           text PRIMARY KEY CHECK (code ~ '^[a-z0-9_]{2,40}$'),
  department     text NOT NULL,
  name_en        text NOT NULL,
  name_hi        text NOT NULL,
  description_en text NOT NULL DEFAULT '',
  description_hi text NOT NULL DEFAULT '',
  fee_paise      int  NOT NULL CHECK (fee_paise >= 0),
  sla_days       int  NOT NULL CHECK (sla_days > 0),
  visit_minutes  int  NOT NULL CHECK (visit_minutes BETWEEN 5 AND 240),
  active         boolean NOT NULL DEFAULT true,
  position       int NOT NULL DEFAULT 0
);

CREATE TABLE service_document (
  service_code text NOT NULL REFERENCES service(code) ON DELETE CASCADE,
  code         text NOT NULL CHECK (code ~ '^[a-z0-9_]{2,40}$'),
  name_en      text NOT NULL,
  name_hi      text NOT NULL,
  mandatory    boolean NOT NULL DEFAULT true,
  notes_en     text NOT NULL DEFAULT '',
  notes_hi     text NOT NULL DEFAULT '',
  position     int NOT NULL DEFAULT 0,
  PRIMARY KEY (service_code, code)
);

-- A booker and a beneficiary are both persons, known by their phone number.
CREATE TABLE person (
  id         bigserial PRIMARY KEY,
  phone      text NOT NULL UNIQUE CHECK (phone ~ '^\+[1-9][0-9]{7,14}$'),
  name       text NOT NULL DEFAULT '',
  language   text NOT NULL DEFAULT 'hi' CHECK (language IN ('en', 'hi')),
  time_zone  text NOT NULL DEFAULT 'Asia/Kolkata',
  created_at timestamptz NOT NULL
);

CREATE TABLE staff (
  id            serial PRIMARY KEY,
  login         text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  role          text NOT NULL CHECK (role IN ('operator', 'officer', 'committee', 'admin')),
  name          text NOT NULL,
  district_id   int REFERENCES district(id),
  zone_id       int REFERENCES zone(id),
  active        boolean NOT NULL DEFAULT true
);

CREATE TABLE agent (
  id            serial PRIMARY KEY,
  code          text NOT NULL UNIQUE,            -- also the agent's login
  password_hash text NOT NULL,
  name          text NOT NULL,
  phone         text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{7,14}$'),
  district_id   int NOT NULL REFERENCES district(id),
  zone_id       int NOT NULL REFERENCES zone(id),
  base          geography(Point, 4326) NOT NULL,
  skills        text[] NOT NULL DEFAULT '{*}',  -- service codes, department names, or '*'
  active        boolean NOT NULL DEFAULT true
);
CREATE INDEX agent_base_gist ON agent USING gist (base);
CREATE INDEX agent_zone ON agent (zone_id) WHERE active;

CREATE TABLE agent_shift (
  agent_id    int NOT NULL REFERENCES agent(id),
  day         date NOT NULL,
  start_local time NOT NULL,
  end_local   time NOT NULL CHECK (end_local > start_local),
  per_window  smallint NOT NULL CHECK (per_window BETWEEN 0 AND 50),
  PRIMARY KEY (agent_id, day)
);

-- The capacity ledger: one row per agent and window. Bookings take and give back units
-- here, in the booking's own transaction; the CHECK makes overbooking impossible.
CREATE TABLE agent_window (
  agent_id    int NOT NULL REFERENCES agent(id),
  starts_at   timestamptz NOT NULL,
  ends_at     timestamptz NOT NULL CHECK (ends_at > starts_at),
  zone_id     int NOT NULL REFERENCES zone(id),
  district_id int NOT NULL REFERENCES district(id),
  capacity    smallint NOT NULL CHECK (capacity >= 0),
  booked      smallint NOT NULL DEFAULT 0 CHECK (booked >= 0 AND booked <= capacity),
  PRIMARY KEY (agent_id, starts_at)
);
CREATE INDEX agent_window_zone_start ON agent_window (zone_id, starts_at);

CREATE TABLE booking (
  id              bigserial PRIMARY KEY,
  district_id     int NOT NULL REFERENCES district(id),
  reference       text NOT NULL UNIQUE,
  tracking_hash   bytea NOT NULL UNIQUE,
  service_code    text NOT NULL REFERENCES service(code),
  booker_id       bigint NOT NULL REFERENCES person(id),
  beneficiary_id  bigint NOT NULL REFERENCES person(id),
  beneficiary_name text NOT NULL,
  address         text NOT NULL,
  location        geometry(Point, 4326) NOT NULL,
  zone_id         int NOT NULL REFERENCES zone(id),
  window_start    timestamptz NOT NULL,
  window_end      timestamptz NOT NULL,
  agent_id        int REFERENCES agent(id),
  status          text NOT NULL CHECK (status IN ('booked', 'assigned', 'en_route', 'arrived',
                    'documents_collected', 'submitted', 'certificate_ready', 'delivered',
                    'cancelled', 'rescheduled', 'no_show', 'failed', 'rejected')),
  fee_paise       int NOT NULL CHECK (fee_paise >= 0),
  visit_code_hash bytea,
  planned_arrival timestamptz,
  route_order     int,
  beneficiary_language text NOT NULL CHECK (beneficiary_language IN ('en', 'hi')),
  created_by_role text NOT NULL,
  created_by_id   bigint NOT NULL,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  -- A booking that holds capacity points at its unit in the ledger.
  FOREIGN KEY (agent_id, window_start) REFERENCES agent_window (agent_id, starts_at)
);
CREATE INDEX booking_booker ON booking (booker_id, window_start DESC);
CREATE INDEX booking_beneficiary ON booking (beneficiary_id, window_start DESC);
CREATE INDEX booking_agent_window ON booking (agent_id, window_start);
CREATE INDEX booking_district_created ON booking (district_id, created_at);

CREATE TABLE booking_event (
  id          bigserial PRIMARY KEY,
  booking_id  bigint NOT NULL REFERENCES booking(id),
  district_id int NOT NULL REFERENCES district(id),
  action      text NOT NULL,          -- created, cancelled, rescheduled, status, ...
  from_status text,
  to_status   text NOT NULL,
  actor_role  text NOT NULL,
  actor_id    bigint,
  at          timestamptz NOT NULL,
  location    geometry(Point, 4326),
  note        text
);
CREATE INDEX booking_event_booking ON booking_event (booking_id, id);

CREATE TABLE session (
  token_hash  bytea PRIMARY KEY,
  role        text NOT NULL CHECK (role IN ('resident', 'operator', 'agent', 'officer', 'committee', 'admin')),
  person_id   bigint REFERENCES person(id),
  staff_id    int REFERENCES staff(id),
  agent_id    int REFERENCES agent(id),
  district_id int REFERENCES district(id),
  created_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL
);

CREATE TABLE otp_request (
  id          text PRIMARY KEY,        -- random, given to the client
  phone       text NOT NULL,
  code_hash   bytea NOT NULL,
  client_addr text NOT NULL,
  attempts    smallint NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz
);
CREATE INDEX otp_request_phone ON otp_request (phone, created_at);
CREATE INDEX otp_request_addr ON otp_request (client_addr, created_at);

-- Message templates, DLT style: {#var#} placeholders.
CREATE TABLE sms_template (
  code     text NOT NULL,
  language text NOT NULL CHECK (language IN ('en', 'hi')),
  body     text NOT NULL,
  PRIMARY KEY (code, language)
);

CREATE TABLE sms_outbox (
  id              bigserial PRIMARY KEY,
  district_id     int REFERENCES district(id),
  dedupe_key      text NOT NULL UNIQUE,
  to_phone        text NOT NULL,
  template        text NOT NULL,
  language        text NOT NULL,
  variables       jsonb NOT NULL,
  body            text NOT NULL,
  booking_id      bigint REFERENCES booking(id),
  status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed')),
  attempts        int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  gateway_id      text,
  last_error      text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL
);
CREATE INDEX sms_outbox_due ON sms_outbox (next_attempt_at) WHERE status = 'queued';
CREATE INDEX sms_outbox_phone ON sms_outbox (to_phone, id);

-- A repeated create with the same key returns the first reply; the body hash tells repeats
-- from misuse of a key.
CREATE TABLE idempotency (
  principal    text NOT NULL,
  key          text NOT NULL,
  request_hash bytea NOT NULL,
  status       int,
  response     text,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (principal, key)
);

-- Append-only audit log. Rows are written in the acting transaction without a hash; a
-- sealer (audit_seal) later chains them in sealing order, so writers never serialise on
-- the chain. Only that one update, from unsealed to sealed, is allowed.
CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,
  district_id int,
  at          timestamptz NOT NULL,
  actor_role  text NOT NULL,
  actor_id    bigint,
  action      text NOT NULL,
  object_type text NOT NULL,
  object_ref  text NOT NULL,
  detail      jsonb NOT NULL DEFAULT '{}',
  chain_no    bigint UNIQUE,
  prev_hash   bytea,
  hash        bytea
);
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE hash IS NULL;
CREATE INDEX audit_log_object ON audit_log (object_type, object_ref);

-- The one update allowed is the seal: an unsealed row takes the next place in the chain
-- with its true digest. Any other seal (a made-up hash, a place outside the chain) would
-- take the row out of what audit_verify checks.
CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.hash IS NULL AND OLD.chain_no IS NULL
     AND (OLD.id, OLD.district_id, OLD.at, OLD.actor_role, OLD.actor_id, OLD.action,
          OLD.object_type, OLD.object_ref, OLD.detail)
         IS NOT DISTINCT FROM
         (NEW.id, NEW.district_id, NEW.at, NEW.actor_role, NEW.actor_id, NEW.action,
          NEW.object_type, NEW.object_ref, NEW.detail)
     AND NEW.chain_no IS NOT NULL AND (NEW.chain_no = 1 OR NEW.prev_hash IS NOT NULL)
     AND NEW.prev_hash IS NOT DISTINCT FROM (SELECT a.hash FROM audit_log a WHERE a.chain_no = NEW.chain_no - 1)
     AND NEW.hash = audit_entry_digest(NEW.prev_hash, NEW) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_guard();

CREATE FUNCTION audit_entry_digest(prev bytea, a audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
  SELECT sha256(coalesce(prev, '\x'::bytea) || convert_to(
    concat_ws('|', a.id, a.district_id, to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
              a.actor_role, a.actor_id, a.action, a.object_type, a.object_ref, a.detail::text), 'UTF8'))
$$;

-- Chains every committed, unsealed row; returns how many it sealed. One sealer at a time.
CREATE FUNCTION audit_seal() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  last_no bigint;
  last_hash bytea;
  h bytea;
  r audit_log;
  n int := 0;
BEGIN
  IF NOT pg_try_advisory_xact_lock(7315001) THEN
    RETURN 0;
  END IF;
  SELECT chain_no, hash INTO last_no, last_hash FROM audit_log
   WHERE chain_no IS NOT NULL ORDER BY chain_no DESC LIMIT 1;
  last_no := coalesce(last_no, 0);
  FOR r IN SELECT * FROM audit_log WHERE hash IS NULL ORDER BY id LIMIT 10000 LOOP
    last_no := last_no + 1;
    h := audit_entry_digest(last_hash, r);
    UPDATE audit_log SET chain_no = last_no, prev_hash = last_hash, hash = h WHERE id = r.id;
    last_hash := h;
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;

-- Recomputes the chain; returns the chain_no of the first broken link, or NULL if intact.
CREATE FUNCTION audit_verify() RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
  prev bytea;
  r audit_log;
BEGIN
  FOR r IN SELECT * FROM audit_log WHERE chain_no IS NOT NULL ORDER BY chain_no LOOP
    IF r.prev_hash IS DISTINCT FROM prev OR r.hash <> audit_entry_digest(prev, r) THEN
      RETURN r.chain_no;
    END IF;
    prev := r.hash;
  END LOOP;
  RETURN NULL;
END $$;

-- The windows of agents' shifts for local days [from_day, to_day], from the zone's slot
-- template; existing rows are kept (their bookings hold units).
CREATE FUNCTION agent_windows_materialize(from_day date, to_day date) RETURNS int
LANGUAGE sql AS $$
  WITH ins AS (
    INSERT INTO agent_window (agent_id, starts_at, ends_at, zone_id, district_id, capacity)
    SELECT a.id, (s.day + t.start_local) AT TIME ZONE d.time_zone,
           (s.day + t.end_local) AT TIME ZONE d.time_zone, a.zone_id, a.district_id, s.per_window
      FROM agent_shift s
      JOIN agent a ON a.id = s.agent_id
      JOIN district d ON d.id = a.district_id
      JOIN slot_template t ON t.zone_id = a.zone_id
     WHERE s.day BETWEEN from_day AND to_day
       AND t.start_local >= s.start_local AND t.end_local <= s.end_local
    ON CONFLICT (agent_id, starts_at) DO NOTHING
    RETURNING 1)
  SELECT count(*)::int FROM ins
$$;

-- "24 Nov, 09:00–11:00 IST" in the reader's language and zone.
CREATE FUNCTION window_label(s timestamptz, e timestamptz, tz text, lang text) RETURNS text
LANGUAGE plpgsql STABLE STRICT AS $$
BEGIN
  RETURN extract(day FROM s AT TIME ZONE tz)::int || ' ' ||
         CASE WHEN lang = 'hi'
              THEN (ARRAY['जनवरी','फ़रवरी','मार्च','अप्रैल','मई','जून','जुलाई','अगस्त','सितंबर','अक्टूबर','नवंबर','दिसंबर'])
                   [extract(month FROM s AT TIME ZONE tz)::int]
              ELSE to_char(s AT TIME ZONE tz, 'Mon') END || ', ' ||
         to_char(s AT TIME ZONE tz, 'HH24:MI') || '–' || to_char(e AT TIME ZONE tz, 'HH24:MI') || ' ' ||
         CASE WHEN tz = 'Asia/Kolkata' THEN 'IST'
              ELSE 'UTC' || CASE WHEN substr(rfc3339(s, tz), 20) = 'Z' THEN '' ELSE substr(rfc3339(s, tz), 20) END END;
END $$;

-- Replaces each {#name#} in a template body with the variable's value.
CREATE FUNCTION sms_render(body text, vars jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  k text;
  v text;
BEGIN
  FOR k, v IN SELECT key, value FROM jsonb_each_text(vars) LOOP
    body := replace(body, '{#' || k || '#}', coalesce(v, ''));
  END LOOP;
  RETURN body;
END $$;

-- The catalogue entry of a service with its documents, names in both languages and `name`
-- in the reader's.
-- PL/pgSQL rather than SQL functions here and below: their plans are cached per session,
-- where a non-inlined SQL function is planned again on every call.
CREATE FUNCTION service_json(s service, lang text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN jsonb_build_object(
    'code', s.code, 'department', s.department,
    'name', CASE WHEN lang = 'hi' THEN s.name_hi ELSE s.name_en END,
    'name_en', s.name_en, 'name_hi', s.name_hi,
    'description', CASE WHEN lang = 'hi' THEN s.description_hi ELSE s.description_en END,
    'description_en', s.description_en, 'description_hi', s.description_hi,
    'fee_paise', s.fee_paise, 'sla_days', s.sla_days, 'visit_minutes', s.visit_minutes,
    'documents', coalesce((
      SELECT jsonb_agg(jsonb_build_object(
               'code', d.code,
               'name', CASE WHEN lang = 'hi' THEN d.name_hi ELSE d.name_en END,
               'name_en', d.name_en, 'name_hi', d.name_hi, 'mandatory', d.mandatory,
               'notes', CASE WHEN lang = 'hi' THEN d.notes_hi ELSE d.notes_en END)
             ORDER BY d.position, d.code)
        FROM service_document d WHERE d.service_code = s.code), '[]'::jsonb));
END $$;

-- booking_notify() is defined in 002 (the scheduler), booking_json() and status_label() in
-- 003 (the agent API), next to the tables they read.
