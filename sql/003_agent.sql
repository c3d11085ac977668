-- 003: field agents — the visit's end state `completed`, visit-code attempts, agent
-- positions, resumable uploads and the documents they become; the booking's JSON lists
-- its documents with their SHA-256; SMS templates of the status changes.

-- `completed`: the agent's work at the door is done (documents collected, visit closed);
-- the office then moves the booking on to submitted → certificate_ready → delivered.
ALTER TABLE booking DROP CONSTRAINT booking_status_check;
ALTER TABLE booking ADD CONSTRAINT booking_status_check CHECK (status IN ('booked', 'assigned', 'en_route',
  'arrived', 'documents_collected', 'completed', 'submitted', 'certificate_ready', 'delivered',
  'cancelled', 'rescheduled', 'no_show', 'failed', 'rejected'));

-- Every visit code typed at a door. Wrong ones are counted per code (code_hash is the
-- booking's visit_code_hash when the attempt was made, so a new code starts afresh).
CREATE TABLE visit_code_attempt (
  id          bigserial PRIMARY KEY,
  booking_id  bigint NOT NULL REFERENCES booking(id),
  district_id int NOT NULL REFERENCES district(id),
  agent_id    int NOT NULL REFERENCES agent(id),
  code_hash   bytea NOT NULL,
  ok          boolean NOT NULL,
  at          timestamptz NOT NULL
);
CREATE INDEX visit_code_attempt_booking ON visit_code_attempt (booking_id, code_hash) WHERE NOT ok;

-- Position pings of agents' handsets.
CREATE TABLE agent_location (
  id          bigserial PRIMARY KEY,
  agent_id    int NOT NULL REFERENCES agent(id),
  district_id int NOT NULL REFERENCES district(id),
  at          timestamptz NOT NULL,
  location    geography(Point, 4326) NOT NULL,
  accuracy_m  real CHECK (accuracy_m IS NULL OR accuracy_m >= 0)
);
CREATE INDEX agent_location_agent_at ON agent_location (agent_id, at DESC);

-- A tus upload in progress. The bytes live encrypted in <upload_dir>/<id>.enc; `offset` is
-- the plaintext bytes stored and acknowledged, `stored` the size of the encrypted file
-- that holds them (anything beyond it was never acknowledged and is cut off).
CREATE TABLE upload (
  id            text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
  booking_id    bigint NOT NULL REFERENCES booking(id),
  district_id   int NOT NULL REFERENCES district(id),
  agent_id      int NOT NULL REFERENCES agent(id),
  document_code text NOT NULL,
  filename      text NOT NULL,
  length        bigint NOT NULL CHECK (length > 0),
  sha256        bytea NOT NULL CHECK (length(sha256) = 32),
  "offset"      bigint NOT NULL DEFAULT 0 CHECK ("offset" >= 0 AND "offset" <= length),
  stored        bigint NOT NULL DEFAULT 0 CHECK (stored >= 0),
  status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'complete')),
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL
);
CREATE INDEX upload_agent ON upload (agent_id, created_at);

-- A collected document: an upload whose length and SHA-256 matched, typed from its bytes.
-- The key that encrypts it is never in the database.
CREATE TABLE document (
  id            bigserial PRIMARY KEY,
  booking_id    bigint NOT NULL REFERENCES booking(id),
  district_id   int NOT NULL REFERENCES district(id),
  document_code text NOT NULL,
  filename      text NOT NULL,
  size          bigint NOT NULL CHECK (size > 0),
  sha256        bytea NOT NULL CHECK (length(sha256) = 32),
  media_type    text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'application/pdf')),
  storage_key   text NOT NULL UNIQUE,
  uploaded_by   int NOT NULL REFERENCES agent(id),
  uploaded_at   timestamptz NOT NULL,
  UNIQUE (booking_id, document_code, sha256)
);
CREATE INDEX document_booking ON document (booking_id, document_code);

-- A booking as its owner and staff see it (no hashes, no internal ids), with each checklist
-- entry marked `uploaded`, and its documents (`uploads`) with their SHA-256.
CREATE FUNCTION booking_json(b booking, lang text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT jsonb_build_object(
    'reference', b.reference,
    'status', b.status,
    'service', (SELECT service_json(s, lang) - 'description_en' - 'description_hi' - 'documents' FROM service s WHERE s.code = b.service_code),
    'window', jsonb_build_object('start', rfc3339(b.window_start, d.time_zone), 'end', rfc3339(b.window_end, d.time_zone)),
    'window_local', jsonb_build_object(
       'ist', jsonb_build_object('start', rfc3339(b.window_start, 'Asia/Kolkata'), 'end', rfc3339(b.window_end, 'Asia/Kolkata'),
                                 'time_zone', 'Asia/Kolkata', 'label', window_label(b.window_start, b.window_end, 'Asia/Kolkata', lang)),
       'booker', jsonb_build_object('start', rfc3339(b.window_start, bk.time_zone), 'end', rfc3339(b.window_end, bk.time_zone),
                                    'time_zone', bk.time_zone, 'label', window_label(b.window_start, b.window_end, bk.time_zone, lang))),
    'fee_paise', b.fee_paise,
    'documents', (SELECT coalesce(jsonb_agg(x || jsonb_build_object('uploaded',
                            EXISTS (SELECT 1 FROM document dd WHERE dd.booking_id = b.id AND dd.document_code = x->>'code'))
                          ORDER BY n), '[]'::jsonb)
                    FROM service s, jsonb_array_elements(service_json(s, lang)->'documents') WITH ORDINALITY AS e(x, n)
                   WHERE s.code = b.service_code),
    'uploads', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', dc.id, 'code', dc.document_code,
                                   'sha256', encode(dc.sha256, 'hex'), 'size', dc.size, 'media_type', dc.media_type,
                                   'filename', dc.filename, 'uploaded_at', rfc3339(dc.uploaded_at, d.time_zone))
                                 ORDER BY dc.id), '[]'::jsonb)
                  FROM document dc WHERE dc.booking_id = b.id),
    'address', b.address,
    'location', jsonb_build_object('lat', ST_Y(b.location), 'lon', ST_X(b.location)),
    'zone', z.code,
    'beneficiary', jsonb_build_object('name', b.beneficiary_name, 'phone', bn.phone, 'language', b.beneficiary_language),
    'booker', jsonb_build_object('name', bk.name, 'phone', bk.phone, 'language', bk.language, 'time_zone', bk.time_zone),
    'agent', CASE WHEN b.status IN ('booked', 'cancelled', 'rescheduled') THEN NULL
                  ELSE (SELECT jsonb_build_object('name', a.name, 'code', a.code) FROM agent a WHERE a.id = b.agent_id) END,
    'planned_arrival', CASE WHEN b.planned_arrival IS NULL THEN NULL ELSE rfc3339(b.planned_arrival, d.time_zone) END,
    'created_at', rfc3339(b.created_at, d.time_zone),
    'events', (SELECT coalesce(jsonb_agg(jsonb_build_object('at', rfc3339(e.at, d.time_zone), 'action', e.action,
                                                            'from_status', e.from_status, 'status', e.to_status,
                                                            'by', e.actor_role, 'note', e.note) ORDER BY e.id), '[]'::jsonb)
                 FROM booking_event e WHERE e.booking_id = b.id))
  FROM district d, person bk, person bn, zone z
  WHERE d.id = b.district_id AND bk.id = b.booker_id AND bn.id = b.beneficiary_id AND z.id = b.zone_id);
END $$;

-- One visit as its agent sees it: where, when, who, what to collect, and what is uploaded.
CREATE FUNCTION agent_visit_json(b booking, lang text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT jsonb_build_object(
    'reference', b.reference,
    'status', b.status,
    'route_order', b.route_order,
    'window', jsonb_build_object('start', rfc3339(b.window_start, d.time_zone), 'end', rfc3339(b.window_end, d.time_zone),
                                 'label', window_label(b.window_start, b.window_end, d.time_zone, lang)),
    'planned_arrival', CASE WHEN b.planned_arrival IS NULL THEN NULL ELSE rfc3339(b.planned_arrival, d.time_zone) END,
    'address', b.address,
    'location', jsonb_build_object('lat', ST_Y(b.location), 'lon', ST_X(b.location)),
    'beneficiary', jsonb_build_object('name', b.beneficiary_name, 'phone', bn.phone, 'language', b.beneficiary_language),
    'service', jsonb_build_object('code', s.code, 'name', CASE WHEN lang = 'hi' THEN s.name_hi ELSE s.name_en END,
                                  'name_en', s.name_en, 'name_hi', s.name_hi, 'visit_minutes', s.visit_minutes),
    'visit_code_sent', b.visit_code_hash IS NOT NULL,
    'documents', coalesce((SELECT jsonb_agg(jsonb_build_object(
                   'code', sd.code, 'name', CASE WHEN lang = 'hi' THEN sd.name_hi ELSE sd.name_en END,
                   'name_en', sd.name_en, 'name_hi', sd.name_hi, 'mandatory', sd.mandatory,
                   'uploaded', EXISTS (SELECT 1 FROM document dc WHERE dc.booking_id = b.id AND dc.document_code = sd.code))
                 ORDER BY sd.position, sd.code) FROM service_document sd WHERE sd.service_code = b.service_code), '[]'::jsonb),
    'uploads', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', dc.id, 'code', dc.document_code,
                                   'sha256', encode(dc.sha256, 'hex'), 'size', dc.size, 'media_type', dc.media_type)
                                 ORDER BY dc.id), '[]'::jsonb)
                  FROM document dc WHERE dc.booking_id = b.id))
  FROM district d, person bn, service s
  WHERE d.id = b.district_id AND bn.id = b.beneficiary_id AND s.code = b.service_code);
END $$;

-- What a booking's status means to a resident, in their language.
CREATE FUNCTION status_label(status text, lang text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN lang = 'hi' THEN
    CASE status
      WHEN 'booked' THEN 'भेंट तय' WHEN 'assigned' THEN 'मितान नियत' WHEN 'en_route' THEN 'मितान रास्ते में'
      WHEN 'arrived' THEN 'मितान पहुँचे' WHEN 'documents_collected' THEN 'दस्तावेज़ लिए गए'
      WHEN 'completed' THEN 'भेंट पूरी हुई'
      WHEN 'submitted' THEN 'विभाग में जमा' WHEN 'certificate_ready' THEN 'प्रमाण पत्र तैयार'
      WHEN 'delivered' THEN 'सौंपा गया' WHEN 'cancelled' THEN 'रद्द' WHEN 'rescheduled' THEN 'समय बदला गया'
      WHEN 'no_show' THEN 'घर पर कोई नहीं मिला' WHEN 'failed' THEN 'भेंट पूरी नहीं हुई' WHEN 'rejected' THEN 'अस्वीकृत'
      ELSE status END
  ELSE
    CASE status
      WHEN 'booked' THEN 'Visit booked' WHEN 'assigned' THEN 'Agent assigned' WHEN 'en_route' THEN 'Agent on the way'
      WHEN 'arrived' THEN 'Agent arrived' WHEN 'documents_collected' THEN 'Documents collected'
      WHEN 'completed' THEN 'Visit completed'
      WHEN 'submitted' THEN 'Submitted to the department' WHEN 'certificate_ready' THEN 'Certificate ready'
      WHEN 'delivered' THEN 'Delivered' WHEN 'cancelled' THEN 'Cancelled' WHEN 'rescheduled' THEN 'Rescheduled'
      WHEN 'no_show' THEN 'Nobody was at home' WHEN 'failed' THEN 'Visit not completed' WHEN 'rejected' THEN 'Rejected'
      ELSE status END
  END
$$;

-- The SMS of each status change the agent makes (sql/seed/sms_templates.sql holds the
-- others; these are added here so that the two lists can grow independently).
INSERT INTO sms_template (code, language, body) VALUES
('status_en_route', 'en', 'Mitan: your agent is on the way for the home visit {#ref#} ({#service#}). Keep ready: {#docs#}. Share the visit code only at the door.'),
('status_en_route', 'hi', 'मितान: घर पर भेंट {#ref#} ({#service#}) के लिए मितान रास्ते में हैं। तैयार रखें: {#docs#}। भेंट कोड केवल दरवाज़े पर बताएं।'),
('status_arrived', 'en', 'Mitan: the agent for {#ref#} ({#service#}) has checked in at your door with your visit code.'),
('status_arrived', 'hi', 'मितान: {#ref#} ({#service#}) के मितान ने आपके भेंट कोड से दरवाज़े पर हाज़िरी दर्ज की।'),
('status_documents_collected', 'en', 'Mitan: the documents for {#ref#} ({#service#}) have been collected and stored safely.'),
('status_documents_collected', 'hi', 'मितान: {#ref#} ({#service#}) के दस्तावेज़ ले लिए गए हैं और सुरक्षित रखे गए हैं।'),
('status_completed', 'en', 'Mitan: the home visit {#ref#} ({#service#}) is complete. Track it here: {#url#}'),
('status_completed', 'hi', 'मितान: घर पर भेंट {#ref#} ({#service#}) पूरी हुई। स्थिति यहाँ देखें: {#url#}'),
('status_no_show', 'en', 'Mitan: our agent came for {#ref#} ({#service#}) but nobody was at home. Call the helpline to book again.'),
('status_no_show', 'hi', 'मितान: मितान {#ref#} ({#service#}) के लिए आए थे पर घर पर कोई नहीं मिला। दोबारा बुक करने के लिए हेल्पलाइन पर फ़ोन करें।'),
('status_failed', 'en', 'Mitan: the home visit {#ref#} ({#service#}) could not be completed. We will call you; track it here: {#url#}'),
('status_failed', 'hi', 'मितान: घर पर भेंट {#ref#} ({#service#}) पूरी नहीं हो सकी। हम आपको फ़ोन करेंगे; स्थिति यहाँ देखें: {#url#}')
ON CONFLICT (code, language) DO NOTHING;
