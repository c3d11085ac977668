#include "agent-api/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "booking/booking_state.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "log.h"
#include "booking/visit.h"

/* The statuses an agent may set; each has an SMS template "status_<name>". */
static const char *const agent_statuses[] = { "en_route", "arrived", "documents_collected", "completed", "no_show",
					      "failed", NULL };

static const char agent_q_visit[] = "SELECT agent_visit_json(b, $2)::text FROM booking b WHERE id = $1";

void agent_tracking_url(const char *reference, char *out, size_t outlen)
{
	/* As dispatch/booking.c derives it: base64url(HMAC(secret, "tracking", ref))[0:22]. */
	unsigned char mac[CRYPTO_SHA256_LEN];
	char full[48];
	crypto_secret_hmac("tracking", reference, strlen(reference), mac);
	crypto_base64url(mac, 17, full);
	full[22] = '\0';
	snprintf(out, outlen, "%s/t/%s", cfg.public_url, full);
}

void agent_visits(struct http_req *r)
{
	/* The agent's visits of one local day (default: today where the agent works), in
	 * route order, then planned arrival, then window. */
	static const char sql[] =
		"WITH a AS (SELECT d.time_zone AS tz FROM agent a JOIN district d ON d.id = a.district_id WHERE a.id = $1), "
		"day AS (SELECT coalesce($2::date, ($3::timestamptz AT TIME ZONE a.tz)::date) AS d, a.tz FROM a) "
		"SELECT coalesce(jsonb_agg(agent_visit_json(b, $4) ORDER BY b.route_order NULLS LAST, "
		"                 coalesce(b.planned_arrival, b.window_start), b.window_start, b.id), '[]')::text "
		"FROM day JOIN booking b ON b.agent_id = $1 "
		" AND b.window_start >= (day.d::timestamp AT TIME ZONE day.tz) "
		" AND b.window_start < ((day.d + 1)::timestamp AT TIME ZONE day.tz) "
		"WHERE b.status NOT IN ('cancelled', 'rescheduled')";
	char date[16], id[24], now[40];
	enum db_status st;
	int has = http_query(r, "date", date, sizeof date);
	if (has < 0 || (has == 1 && !clock_date_valid(date))) {
		http_error_field(r, "date", "must be a day as YYYY-MM-DD");
		return;
	}
	snprintf(id, sizeof id, "%lld", r->auth.id);
	clock_now_text(now, sizeof now);
	const char *p[] = { id, has == 1 ? date : NULL, now, http_lang(r) };
	PGresult *res = db_exec(sql, 4, p, &st);
	if (st == DB_BAD_INPUT)
		http_error_field(r, "date", "is not a day of the calendar");
	else if (st != DB_OK)
		http_error_db(r, st);
	else
		http_reply_json_text(r, 200, db_get(res, 0, 0));
	PQclear(res);
}

/* The request, after its shape was checked. */
struct agent_status_input {
	const char *status;
	const char *code;
	const char *note;
	int has_place;
	double lat, lon;
	char lat_text[24], lon_text[24];
};

static int agent_status_parse(struct http_req *r, struct agent_status_input *in)
{
	static const char *const fields[] = { "status", "visit_code", "note", "lat", "lon", NULL };
	struct jv v = { 0 };
	size_t i;
	memset(in, 0, sizeof *in);
	jv_only(&v, r->json, "", fields);
	in->status = jv_string(&v, r->json, "", "status", 1, 1, 32);
	for (i = 0; !v.failed && agent_statuses[i]; i++)
		if (strcmp(agent_statuses[i], in->status) == 0)
			break;
	if (!v.failed && !agent_statuses[i])
		jv_fail(&v, "", "status", "must be en_route, arrived, documents_collected, completed, no_show or failed");
	in->code = jv_string(&v, r->json, "", "visit_code", 0, VISIT_CODE_DIGITS, VISIT_CODE_DIGITS);
	if (!v.failed && in->code && strspn(in->code, "0123456789") != VISIT_CODE_DIGITS)
		jv_fail(&v, "", "visit_code", "must be the 6 digits the resident received");
	in->note = jv_string(&v, r->json, "", "note", 0, 1, 500);
	int has_lat = jv_number(&v, r->json, "", "lat", 0, -90, 90, &in->lat);
	int has_lon = jv_number(&v, r->json, "", "lon", 0, -180, 180, &in->lon);
	if (!v.failed && has_lat != has_lon)
		jv_fail(&v, "", has_lat ? "lon" : "lat", "lat and lon go together");
	in->has_place = has_lat && has_lon;
	if (!v.failed && in->has_place) {
		snprintf(in->lat_text, sizeof in->lat_text, "%.7f", in->lat);
		snprintf(in->lon_text, sizeof in->lon_text, "%.7f", in->lon);
	}
	if (!v.failed && !in->code && strcmp(in->status, "arrived") == 0)
		jv_fail(&v, "", "visit_code", "is required: ask the resident for the code of the visit-day SMS");
	if (!v.failed && !in->note && (strcmp(in->status, "no_show") == 0 || strcmp(in->status, "failed") == 0))
		jv_fail(&v, "", "note", "is required: say what happened");
	if (v.failed) {
		jv_reply(r, &v);
		return -1;
	}
	return 0;
}

/* Records a wrong visit code; committed even though the change is refused. */
static enum db_status agent_code_attempt(struct http_req *r, const char *booking_id, const char *district_id,
					 const char *reference, const char *code_hash, int ok, const char *now)
{
	static const char sql[] =
		"WITH v AS (INSERT INTO visit_code_attempt (booking_id, district_id, agent_id, code_hash, ok, at) "
		"           VALUES ($1, $2, $3, decode($4, 'hex'), $5, $6) RETURNING id) "
		"INSERT INTO audit_log (district_id, at, actor_role, actor_id, action, object_type, object_ref, detail) "
		"SELECT $2, $6, 'agent', $3, CASE WHEN $5 THEN 'visit.code_ok' ELSE 'visit.code_wrong' END, 'booking', $7, "
		"       jsonb_build_object('attempt', v.id) FROM v";
	char agent[24];
	snprintf(agent, sizeof agent, "%lld", r->auth.id);
	const char *p[] = { booking_id, district_id, agent, code_hash, ok ? "true" : "false", now, reference };
	return db_run(sql, 7, p);
}

void agent_visit_status(struct http_req *r)
{
	/* The visit, locked, with what the rules need: whether it is today, the wrong codes of
	 * its current visit code, and its mandatory documents not uploaded yet. */
	static const char q_load[] =
		"SELECT b.id, b.status, b.district_id, encode(b.visit_code_hash, 'hex'), "
		"       (b.window_start AT TIME ZONE d.time_zone)::date = ($3::timestamptz AT TIME ZONE d.time_zone)::date, "
		"       (SELECT count(*) FROM visit_code_attempt v WHERE v.booking_id = b.id AND NOT v.ok "
		"                                                  AND v.code_hash = b.visit_code_hash), "
		"       (SELECT string_agg(sd.code, ', ' ORDER BY sd.position, sd.code) FROM service_document sd "
		"         WHERE sd.service_code = b.service_code AND sd.mandatory "
		"           AND NOT EXISTS (SELECT 1 FROM document dc WHERE dc.booking_id = b.id AND dc.document_code = sd.code)) "
		"FROM booking b JOIN district d ON d.id = b.district_id "
		"WHERE b.reference = $1 AND b.agent_id = $2 FOR UPDATE OF b";
	static const char q_update[] = "UPDATE booking SET status = $2, updated_at = $3 WHERE id = $1";
	static const char q_event[] =
		"WITH e AS (INSERT INTO booking_event (booking_id, district_id, action, from_status, to_status, "
		"                                      actor_role, actor_id, at, location, note) "
		"           VALUES ($1, $2, 'status', $3, $4, 'agent', $5, $6, "
		"                   CASE WHEN $7::float8 IS NOT NULL THEN ST_SetSRID(ST_MakePoint($8, $7), 4326) END, $9) "
		"           RETURNING id) "
		"INSERT INTO audit_log (district_id, at, actor_role, actor_id, action, object_type, object_ref, detail) "
		"SELECT $2, $6, 'agent', $5, 'booking.status', 'booking', $10, "
		"       jsonb_build_object('event', e.id, 'from', $3::text, 'to', $4::text) FROM e";
	static const char q_ping[] =
		"INSERT INTO agent_location (agent_id, district_id, at, location) "
		"SELECT id, district_id, $2, ST_SetSRID(ST_MakePoint($4, $3), 4326)::geography FROM agent WHERE id = $1";
	static const char q_notify[] = "SELECT booking_notify($1, $2, $3, $4, $5)";
	struct agent_status_input in;
	char now[40], agent[24], booking_id[24], district_id[16], template[48], note[800], url[300];
	enum db_status st;
	PGresult *b = NULL, *res = NULL;

	if (agent_status_parse(r, &in) != 0)
		return;
	clock_now_text(now, sizeof now);
	snprintf(agent, sizeof agent, "%lld", r->auth.id);
	if ((st = db_begin()) != DB_OK)
		goto db_fail;
	const char *lp[] = { r->params[0], agent, now };
	b = db_exec(q_load, 3, lp, &st);
	if (st != DB_OK)
		goto db_fail;
	if (PQntuples(b) != 1) {
		http_error(r, 404, "not_found", "no visit with this reference is assigned to you");
		goto out;
	}
	snprintf(booking_id, sizeof booking_id, "%s", db_get(b, 0, 0));
	snprintf(district_id, sizeof district_id, "%s", db_get(b, 0, 2));
	const char *from = db_get(b, 0, 1);
	const char *code_hash = db_get(b, 0, 3);
	int today = db_get(b, 0, 4)[0] == 't';
	long long wrong = db_get_ll(b, 0, 5);
	const char *missing = db_get(b, 0, 6);

	if (strcmp(from, in.status) == 0) {
		/* A repeat (e.g. the handset's queue sending again after a lost reply): nothing
		 * changes, the visit is returned as it is. */
		db_rollback();
		goto reply;
	}
	if (!booking_state_allowed(from, in.status)) {
		http_error(r, 409, "wrong_state", "a visit that is %s cannot become %s", from, in.status);
		goto out;
	}
	if (!today && (strcmp(in.status, "en_route") == 0 || strcmp(in.status, "arrived") == 0)) {
		http_error(r, 409, "not_visit_day", "this visit is not today");
		goto out;
	}
	if (strcmp(in.status, "arrived") == 0) {
		if (!code_hash) {
			http_error(r, 409, "no_visit_code", "the resident has not been sent a visit code yet; call the office");
			goto out;
		}
		if (wrong >= cfg.visit_code_max_attempts) {
			r->retry_after = 3600;
			http_error(r, 429, "too_many_attempts",
				   "too many wrong visit codes at this door; the office must send the resident a new code");
			goto out;
		}
		int ok = visit_code_matches(r->params[0], in.code, code_hash);
		if ((st = agent_code_attempt(r, booking_id, district_id, r->params[0], code_hash, ok, now)) != DB_OK)
			goto db_fail;
		if (!ok) {
			if ((st = db_commit()) != DB_OK)
				goto db_fail;
			long left = cfg.visit_code_max_attempts - (long)wrong - 1;
			http_error(r, 422, "wrong_visit_code", "this is not the visit code; %ld tries left%s", left,
				   left > 0 ? "" : ": the office must send the resident a new code");
			goto out;
		}
	}
	note[0] = '\0';
	if (strcmp(in.status, "documents_collected") == 0 && missing) {
		if (!in.note) {
			http_error(r, 422, "documents_missing",
				   "mandatory documents not uploaded: %s; upload them, or say in a note why they are missing",
				   missing);
			goto out;
		}
		snprintf(note, sizeof note, "missing: %s. %s", missing, in.note);
	} else if (in.note) {
		snprintf(note, sizeof note, "%s", in.note);
	}
	snprintf(template, sizeof template, "status_%s", in.status);
	agent_tracking_url(r->params[0], url, sizeof url);
	const char *up[] = { booking_id, in.status, now };
	const char *ep[] = { booking_id, district_id, from, in.status, agent, now,
			     in.has_place ? in.lat_text : NULL, in.has_place ? in.lon_text : NULL,
			     note[0] ? note : NULL, r->params[0] };
	const char *pp[] = { agent, now, in.lat_text, in.lon_text };
	const char *np[] = { booking_id, template, now, url, in.status };
	if ((st = db_run(q_update, 3, up)) != DB_OK || (st = db_run(q_event, 10, ep)) != DB_OK ||
	    (in.has_place && (st = db_run(q_ping, 4, pp)) != DB_OK) || (st = db_run(q_notify, 5, np)) != DB_OK ||
	    (st = db_commit()) != DB_OK)
		goto db_fail;
	log_info("visit %s: %s -> %s", r->params[0], from, in.status);
reply:;
	const char *vp[] = { booking_id, http_lang(r) };
	res = db_exec(agent_q_visit, 2, vp, &st);
	if (st != DB_OK)
		goto db_fail;
	http_reply_json_text(r, 200, db_get(res, 0, 0));
	goto out;
db_fail:
	http_error_db(r, st);
out:
	PQclear(b);
	PQclear(res);
}

void agent_location(struct http_req *r)
{
	static const char *const fields[] = { "lat", "lon", "accuracy", NULL };
	static const char sql[] =
		"INSERT INTO agent_location (agent_id, district_id, at, location, accuracy_m) "
		"SELECT id, district_id, $2, ST_SetSRID(ST_MakePoint($4, $3), 4326)::geography, $5 FROM agent WHERE id = $1";
	struct jv v = { 0 };
	double lat = 0, lon = 0, acc = 0;
	char agent[24], now[40], lat_text[24], lon_text[24], acc_text[24];
	jv_only(&v, r->json, "", fields);
	jv_number(&v, r->json, "", "lat", 1, -90, 90, &lat);
	jv_number(&v, r->json, "", "lon", 1, -180, 180, &lon);
	int has_acc = jv_number(&v, r->json, "", "accuracy", 0, 0, 100000, &acc);
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	snprintf(agent, sizeof agent, "%lld", r->auth.id);
	snprintf(lat_text, sizeof lat_text, "%.7f", lat);
	snprintf(lon_text, sizeof lon_text, "%.7f", lon);
	snprintf(acc_text, sizeof acc_text, "%.1f", acc);
	clock_now_text(now, sizeof now);
	const char *p[] = { agent, now, lat_text, lon_text, has_acc ? acc_text : NULL };
	enum db_status st = db_run(sql, 5, p);
	if (st != DB_OK)
		http_error_db(r, st);
	else
		http_reply(r, 204, NULL, "", 0);
}
