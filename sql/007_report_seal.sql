-- The fortnightly report, sealed (DESIGN §1 "fortnightly report snapshots"). When a
-- fortnight closes, the worker stores the district's report as it stood then, with its SHA-256,
-- and records the digest in the hash-chained audit log: the committee can later show that the
-- figures it reviewed were not changed. The live report stays computed from the events.

CREATE TABLE report_seal (
  district_id int NOT NULL REFERENCES district(id),
  period      text NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])-[12]$'),
  sealed_at   timestamptz NOT NULL,
  sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  body        text NOT NULL,   -- the JSON text exactly as digested and served
  PRIMARY KEY (district_id, period)
);

CREATE FUNCTION report_seal_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'a sealed report is never changed' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER report_seal_append_only BEFORE UPDATE OR DELETE ON report_seal
  FOR EACH ROW EXECUTE FUNCTION report_seal_refuse();

-- Seals, for every district, the last complete fortnight at p_now if it is not sealed yet.
-- Run by the worker's 10-minute scan; returns how many reports it sealed. A fortnight before
-- the district's first booking is not sealed (nothing happened there yet), nor one that has not
-- ended by the wall clock: a worker run with a later application clock (dev and test only)
-- must not seal, for ever, a fortnight that is still running.
CREATE FUNCTION report_seal_due(p_now timestamptz) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  d record;
  body text;
  digest text;
  n int := 0;
BEGIN
  FOR d IN
    SELECT x.id, x.code, p.code AS period, p.last_day, x.time_zone
      FROM district x
     CROSS JOIN LATERAL (
       SELECT report_period_code((SELECT q.first_day FROM report_period_days(
                report_period_code((p_now AT TIME ZONE x.time_zone)::date)) q) - 1) AS code) c
     CROSS JOIN LATERAL (SELECT c.code, r.last_day FROM report_period_days(c.code) r) p
     WHERE NOT EXISTS (SELECT 1 FROM report_seal s WHERE s.district_id = x.id AND s.period = p.code)
       AND ((p.last_day + 1)::timestamp AT TIME ZONE x.time_zone) <= clock_timestamp()
       AND EXISTS (SELECT 1 FROM booking b WHERE b.district_id = x.id
                      AND b.created_at < ((p.last_day + 1)::timestamp AT TIME ZONE x.time_zone))
  LOOP
    body := report_fortnightly(d.id, d.period, p_now)::text;
    CONTINUE WHEN body IS NULL;
    digest := encode(sha256(convert_to(body, 'UTF8')), 'hex');
    INSERT INTO report_seal (district_id, period, sealed_at, sha256, body)
    VALUES (d.id, d.period, p_now, digest, body) ON CONFLICT DO NOTHING;
    IF FOUND THEN
      PERFORM audit_write(d.id, p_now, 'system', NULL, 'report.sealed', 'report', d.code || ':' || d.period,
                          jsonb_build_object('sha256', digest));
      n := n + 1;
    END IF;
  END LOOP;
  RETURN n;
END $$;
