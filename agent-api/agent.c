#include "agent-api/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "booking/change.h"
#include "booking/tracking.h"
#include "booking/visit.h"

static const char agent_q_visit[] = "SELECT agent_visit_json(b, $2)::text FROM booking b WHERE id = $1";

void agent_visits(struct http_req *r)
{
	/* The agent's visits of one local day (default: today where the agent works), in
	 * route order, then planned arrival, then window. */
	static const char sql[] =
	    "WITH a AS (SELECT d.time_zone AS tz FROM agent a JOIN district d ON d.id = a.district_id WHERE a.id = "
	    "$1), "
	    "day AS (SELECT coalesce($2::date, ($3::timestamptz AT TIME ZONE a.tz)::date) AS d, a.tz FROM a) "
	    "SELECT coalesce(jsonb_agg(agent_visit_json(b, $4) ORDER BY b.route_order NULLS LAST, "
	    "                 coalesce(b.planned_arrival, b.window_start), b.window_start, b.id), '[]')::text "
	    "FROM day JOIN booking b ON b.agent_id = $1 "
	    " AND b.window_start >= (day.d::timestamp AT TIME ZONE day.tz) "
	    " AND b.window_start < ((day.d + 1)::timestamp AT TIME ZONE day.tz) "
	    "WHERE b.status NOT IN ('cancelled', 'rescheduled')";
	char date[16], now[40];
	enum db_status st;
	int has = http_query(r, "date", date, sizeof date);
	if (has < 0 || (has == 1 && !clock_date_valid(date))) {
		http_error_field(r, "date", "must be a day as YYYY-MM-DD");
		return;
	}
	struct db_args a = {0};
	clock_now_text(now, sizeof now);
	db_arg_ll(&a, r->auth.id);
	db_arg_text(&a, has == 1 ? date : NULL);
	db_arg_text(&a, now);
	db_arg_text(&a, http_lang(r));
	PGresult *res = db_exec(sql, a.n, a.v, &st);
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
	int has_lat, has_lon;
	double lat, lon;
	char lat_text[24], lon_text[24];
};

/* A status the agent may set: the target of one of the agent's steps. */
static int agent_status_ok(const char *s)
{
	return booking_transition_target(BOOKING_AGENT_STEP, s);
}

static int agent_code_ok(const char *s)
{
	return strspn(s, "0123456789") == VISIT_CODE_DIGITS;
}

static int agent_status_parse_or_reply(struct http_req *r, struct agent_status_input *in)
{
	const struct jv_field body[] = {
	    JV_STR_OK("status", 1, 1, 32, agent_status_ok,
	              "must be en_route, arrived, documents_collected, completed, no_show or failed", &in->status),
	    JV_STR_OK("visit_code", 0, VISIT_CODE_DIGITS, VISIT_CODE_DIGITS, agent_code_ok,
	              "must be the 6 digits the resident received", &in->code),
	    JV_STR("note", 0, 1, 500, &in->note),
	    JV_NUM("lat", 0, -90, 90, &in->lat, &in->has_lat),
	    JV_NUM("lon", 0, -180, 180, &in->lon, &in->has_lon),
	    JV_END,
	};
	struct jv v = {0};

	memset(in, 0, sizeof *in);
	jv_check(&v, r->json, "", body);
	if (!v.failed && in->has_lat != in->has_lon)
		jv_fail(&v, "", in->has_lat ? "lon" : "lat", "lat and lon go together");
	if (!v.failed && !in->code && strcmp(in->status, "arrived") == 0)
		jv_fail(&v, "", "visit_code", "is required: ask the resident for the code of the visit-day SMS");
	if (!v.failed && !in->note && (strcmp(in->status, "no_show") == 0 || strcmp(in->status, "failed") == 0))
		jv_fail(&v, "", "note", "is required: say what happened");
	if (v.failed) {
		jv_reply(r, &v);
		return -1;
	}
	if (in->has_lat) {
		snprintf(in->lat_text, sizeof in->lat_text, "%.7f", in->lat);
		snprintf(in->lon_text, sizeof in->lon_text, "%.7f", in->lon);
	}
	return 0;
}

/* Records a visit code tried at the door; a wrong one is committed even though the change
 * is refused. */
static enum db_status agent_code_attempt(struct http_req *r, const char *booking_id, const char *district_id,
                                         const char *reference, const char *code_hash, int ok, const char *now)
{
	static const char sql[] =
	    "WITH v AS (INSERT INTO visit_code_attempt (booking_id, district_id, agent_id, code_hash, ok, at) "
	    "           VALUES ($1, $2, $3, decode($4, 'hex'), $5, $6) RETURNING id) "
	    "SELECT audit_write($2, $6, 'agent', $3, CASE WHEN $5 THEN 'visit.code_ok' ELSE 'visit.code_wrong' END, "
	    "                   'booking', $7, jsonb_build_object('attempt', v.id)) FROM v";
	struct db_args a = {0};
	db_arg_text(&a, booking_id);
	db_arg_text(&a, district_id);
	db_arg_ll(&a, r->auth.id);
	db_arg_text(&a, code_hash);
	db_arg_bool(&a, ok);
	db_arg_text(&a, now);
	db_arg_text(&a, reference);
	return db_run(sql, a.n, a.v);
}

/* The door: the resident's code must match, with a bounded number of tries. 0 when it
 * matched; else replied (a wrong code is committed, so the tries count). */
static int agent_check_code_or_reply(struct http_req *r, PGresult *b, const char *code, const char *now,
                                     enum db_status *st)
{
	const char *code_hash = db_col(b, 0, "code_hash");
	long long wrong = db_col_ll(b, 0, "wrong_codes");
	*st = DB_OK;
	if (!code_hash) {
		http_error(r, 409, "no_visit_code", "the resident has not been sent a visit code yet; call the office");
		return -1;
	}
	if (wrong >= cfg.visit_code_max_attempts) {
		r->retry_after = 3600;
		http_error(r, 429, "too_many_attempts",
		           "too many wrong visit codes at this door; the office must send the resident a new code");
		return -1;
	}
	int ok = visit_code_matches(r->params[0], code, code_hash);
	*st = agent_code_attempt(r, db_col(b, 0, "id"), db_col(b, 0, "district_id"), r->params[0], code_hash, ok, now);
	if (*st != DB_OK)
		return -1;
	if (ok)
		return 0;
	*st = db_commit();
	if (*st != DB_OK)
		return -1;
	long left = cfg.visit_code_max_attempts - (long)wrong - 1;
	http_error(r, 422, "wrong_visit_code", "this is not the visit code; %ld tries left%s", left,
	           left > 0 ? "" : ": the office must send the resident a new code");
	return -1;
}

void agent_visit_status(struct http_req *r)
{
	/* The visit, locked, with what the rules need: whether it is today, the wrong codes of
	 * its current visit code, and its mandatory documents not uploaded yet. */
	static const char q_load[] =
	    "SELECT b.id, b.reference, b.status, b.district_id, b.agent_id, encode(b.visit_code_hash, 'hex') AS "
	    "code_hash, "
	    "       (b.window_start AT TIME ZONE d.time_zone)::date = ($3::timestamptz AT TIME ZONE d.time_zone)::date "
	    "         AS today, "
	    "       (SELECT count(*) FROM visit_code_attempt v WHERE v.booking_id = b.id AND NOT v.ok "
	    "                                                  AND v.code_hash = b.visit_code_hash) AS wrong_codes, "
	    "       (SELECT string_agg(sd.code, ', ' ORDER BY sd.position, sd.code) FROM service_document sd "
	    "         WHERE sd.service_code = b.service_code AND sd.mandatory "
	    "           AND NOT EXISTS (SELECT 1 FROM document dc WHERE dc.booking_id = b.id AND dc.document_code = "
	    "sd.code)) "
	    "         AS missing "
	    "FROM booking b JOIN district d ON d.id = b.district_id "
	    "WHERE b.reference = $1 AND b.agent_id = $2 FOR UPDATE OF b";
	static const char q_ping[] =
	    "INSERT INTO agent_location (agent_id, district_id, at, location) "
	    "SELECT id, district_id, $2, ST_SetSRID(ST_MakePoint($4, $3), 4326)::geography FROM agent WHERE id = $1";
	const struct booking_transition *t;
	struct agent_status_input in;
	struct booking_change change = {0};
	struct db_args a = {0};
	char now[40], booking_id[24], note[800], url[300];
	enum db_status st;
	PGresult *b = NULL, *res = NULL;

	if (agent_status_parse_or_reply(r, &in) != 0)
		return;
	clock_now_text(now, sizeof now);
	st = db_begin();
	if (st != DB_OK)
		goto db_fail;
	db_arg_text(&a, r->params[0]);
	db_arg_ll(&a, r->auth.id);
	db_arg_text(&a, now);
	b = db_exec(q_load, a.n, a.v, &st);
	if (st != DB_OK)
		goto db_fail;
	if (PQntuples(b) != 1) {
		http_error(r, 404, "not_found", "no visit with this reference is assigned to you");
		goto out;
	}
	snprintf(booking_id, sizeof booking_id, "%s", db_col(b, 0, "id"));
	const char *from = db_col(b, 0, "status");
	const char *missing = db_col(b, 0, "missing");

	if (strcmp(from, in.status) == 0) {
		/* A repeat (e.g. the handset's queue sending again after a lost reply): nothing
		 * changes, the visit is returned as it is. */
		db_rollback();
		goto reply;
	}
	t = booking_transition_find(BOOKING_AGENT_STEP, from, in.status);
	if (!t) {
		http_error(r, 409, "wrong_state", "a visit that is %s cannot become %s", from, in.status);
		goto out;
	}
	if ((t->effects & BOOKING_ON_VISIT_DAY) && !db_col_true(b, 0, "today")) {
		http_error(r, 409, "not_visit_day", "this visit is not today");
		goto out;
	}
	if ((t->effects & BOOKING_NEEDS_CODE) && agent_check_code_or_reply(r, b, in.code, now, &st) != 0) {
		if (st != DB_OK)
			goto db_fail;
		goto out;
	}
	note[0] = '\0';
	if (strcmp(in.status, "documents_collected") == 0 && missing) {
		if (!in.note) {
			http_error(
			    r, 422, "documents_missing",
			    "mandatory documents not uploaded: %s; upload them, or say in a note why they are missing",
			    missing);
			goto out;
		}
		snprintf(note, sizeof note, "missing: %s. %s", missing, in.note);
	} else if (in.note) {
		snprintf(note, sizeof note, "%s", in.note);
	}
	change.booking_id = booking_id;
	change.reference = r->params[0];
	change.from = from;
	change.role = ROLE_AGENT;
	change.actor = r->auth.id;
	change.now = now;
	change.note = note[0] ? note : NULL;
	change.lat = in.has_lat ? in.lat_text : NULL;
	change.lon = in.has_lat ? in.lon_text : NULL;
	change.unit_agent = db_col(b, 0, "agent_id");
	change.sms_url = url;
	change.sms_dedupe = in.status;
	tracking_url(r->params[0], url, sizeof url);
	st = booking_change_apply(t, &change);
	if (st == DB_OK && in.has_lat) {
		const char *pp[] = {change.unit_agent, now, in.lat_text, in.lon_text};
		st = db_run(q_ping, 4, pp);
	}
	if (st == DB_OK)
		st = db_commit();
	if (st != DB_OK)
		goto db_fail;
	log_info("visit %s: %s -> %s", r->params[0], from, in.status);
reply:;
	const char *vp[] = {booking_id, http_lang(r)};
	res = db_exec(agent_q_visit, 2, vp, &st);
	if (st != DB_OK)
		goto db_fail;
	http_reply_json_text(r, 200, db_get(res, 0, 0));
	goto out;
db_fail:
	http_error_db(r, st);
out:
	db_rollback();
	PQclear(b);
	PQclear(res);
}

void agent_location(struct http_req *r)
{
	static const char sql[] =
	    "INSERT INTO agent_location (agent_id, district_id, at, location, accuracy_m) "
	    "SELECT id, district_id, $2, ST_SetSRID(ST_MakePoint($4::float8, $3::float8), 4326)::geography, $5 "
	    "FROM agent WHERE id = $1";
	double lat = 0, lon = 0, acc = 0;
	int has_acc = 0;
	const struct jv_field body[] = {
	    JV_NUM("lat", 1, -90, 90, &lat, NULL),
	    JV_NUM("lon", 1, -180, 180, &lon, NULL),
	    JV_NUM("accuracy", 0, 0, 100000, &acc, &has_acc),
	    JV_END,
	};
	struct db_args a = {0};
	char now[40];

	if (jv_check_or_reply(r, body) != 0)
		return;
	clock_now_text(now, sizeof now);
	db_arg_ll(&a, r->auth.id);
	db_arg_text(&a, now);
	db_arg_double(&a, lat);
	db_arg_double(&a, lon);
	if (has_acc)
		db_arg_double(&a, acc);
	else
		db_arg_text(&a, NULL);
	enum db_status st = db_run(sql, a.n, a.v);
	if (st != DB_OK)
		http_error_db(r, st);
	else
		http_reply(r, 204, NULL, "", 0);
}
