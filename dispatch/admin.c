#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "booking.h"
#include "booking_state.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "log.h"
#include "plan.h"
#include "util.h"
#include "visit.h"

#define ADMIN_CODE_TRIES 3

/* ---- shared pieces ---- */

static void admin_ids(const struct http_req *r, char actor[24], char district[24])
{
	snprintf(actor, 24, "%lld", r->auth.id);
	snprintf(district, 24, "%lld", r->auth.district_id);
}

/* A skill is a service code, a department or '*'. */
static int admin_skill_ok(const char *s)
{
	size_t n = strlen(s);
	return strcmp(s, "*") == 0 || (n >= 2 && n <= 40 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n);
}

/* The "skills" member as a PostgreSQL array literal into out; 1 if present. */
static int admin_skills(struct jv *v, json_t *obj, buf_t *out)
{
	size_t i;
	json_t *s, *m = v->failed ? NULL : json_object_get(obj, "skills");
	if (!m)
		return 0;
	if (!json_is_array(m) || json_array_size(m) == 0 || json_array_size(m) > 50) {
		jv_fail(v, "", "skills", "must be a list of 1 to 50 service codes, departments or \"*\"");
		return 0;
	}
	buf_puts(out, "{");
	json_array_foreach(m, i, s) {
		if (!json_is_string(s) || !admin_skill_ok(json_string_value(s))) {
			jv_fail(v, "", "skills", "each skill must be a service code, a department or \"*\"");
			return 0;
		}
		buf_printf(out, "%s\"%s\"", i ? "," : "", json_string_value(s));
	}
	buf_puts(out, "}");
	return 1;
}

/* The skills that are neither '*' nor a service code nor a department: 0 when all known. */
static int admin_unknown_skills(const char *skills, enum db_status *st)
{
	static const char sql[] =
		"SELECT count(*) FROM unnest($1::text[]) k WHERE k <> '*' AND NOT EXISTS (SELECT 1 FROM service s "
		"  WHERE s.code = k OR s.department = k)";
	const char *p[] = { skills };
	PGresult *res = db_exec(sql, 1, p, st);
	int n = *st == DB_OK ? (int)db_get_ll(res, 0, 0) : 0;
	PQclear(res);
	return n;
}

static enum db_status admin_audit(struct http_req *r, const char *district, const char *action, const char *type,
				  const char *ref, const char *detail)
{
	static const char sql[] =
		"INSERT INTO audit_log (district_id, at, actor_role, actor_id, action, object_type, object_ref, detail) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8::jsonb, '{}'))";
	char now[40], actor[24];
	clock_now_text(now, sizeof now);
	snprintf(actor, sizeof actor, "%lld", r->auth.id);
	const char *p[] = { district, now, auth_role_name(r->auth.role), actor, action, type, ref, detail };
	return db_run(sql, 8, p);
}

/* The agent with this code in the caller's district: id, district_id, zone code. */
static PGresult *admin_agent_find(struct http_req *r, int lock, enum db_status *st)
{
#define ADMIN_AGENT_FIND                                                                                      \
	"SELECT a.id, a.district_id, z.code FROM agent a JOIN zone z ON z.id = a.zone_id "                      \
	"WHERE a.code = $1 AND ($2::int = 0 OR a.district_id = $2::int)"
	static const char q_read[] = ADMIN_AGENT_FIND;
	static const char q_lock[] = ADMIN_AGENT_FIND " FOR UPDATE OF a";
#undef ADMIN_AGENT_FIND
	char actor[24], district[24];
	admin_ids(r, actor, district);
	const char *p[] = { r->params[0], district };
	return db_exec(lock ? q_lock : q_read, 2, p, st);
}

/* ---- agents ---- */

/* One agent as JSON, from agent a joined with its zone z, with the days from today (in the
 * district's time zone; `now` is the parameter named) on which the agent is off. */
#define ADMIN_AGENT_JSON(now)                                                                                    \
	"jsonb_build_object('code', a.code, 'name', a.name, 'phone', a.phone, 'zone', z.code, "                  \
	"  'base', jsonb_build_object('lat', ST_Y(a.base::geometry), 'lon', ST_X(a.base::geometry)), "           \
	"  'skills', to_jsonb(a.skills), 'active', a.active, "                                                    \
	"  'unavailable', coalesce((SELECT jsonb_agg(jsonb_build_object('date', u.day, 'reason', u.reason) "       \
	"                                            ORDER BY u.day) FROM agent_unavailable u JOIN district d "     \
	"                             ON d.id = u.district_id WHERE u.agent_id = a.id "                             \
	"                               AND u.day >= (" now "::timestamptz AT TIME ZONE d.time_zone)::date), '[]'))"

static const char admin_q_agent_json[] =
	"SELECT " ADMIN_AGENT_JSON("$2") "::text FROM agent a JOIN zone z ON z.id = a.zone_id WHERE a.id = $1";

void admin_agents_list(struct http_req *r)
{
	static const char sql[] =
		"SELECT coalesce(jsonb_agg(" ADMIN_AGENT_JSON("$3") " ORDER BY a.code), '[]')::text "
		"FROM agent a JOIN zone z ON z.id = a.zone_id "
		"WHERE ($1::int = 0 OR a.district_id = $1::int) AND ($2::text IS NULL OR z.code = $2)";
	char actor[24], district[24], zone[20], now[40];
	int has_zone = http_query(r, "zone", zone, sizeof zone);
	if (has_zone < 0) {
		http_error_field(r, "zone", "is not a zone code");
		return;
	}
	admin_ids(r, actor, district);
	clock_now_text(now, sizeof now);
	const char *p[] = { district, has_zone ? zone : NULL, now };
	http_reply_query(r, sql, 3, p);
}

/* The zone of the caller's district with this code: id and district_id, or none. */
static PGresult *admin_zone_find(struct http_req *r, const char *code, enum db_status *st)
{
	static const char sql[] = "SELECT id, district_id FROM zone WHERE code = $1 AND ($2::int = 0 OR district_id = $2::int)";
	char actor[24], district[24];
	admin_ids(r, actor, district);
	const char *p[] = { code, district };
	return db_exec(sql, 2, p, st);
}

void admin_agent_create(struct http_req *r)
{
	static const char *const fields[] = { "name", "phone", "zone", "base", "skills", NULL };
	static const char *const loc[] = { "lat", "lon", NULL };
	static const char q_insert[] =
		"INSERT INTO agent (code, password_hash, name, phone, district_id, zone_id, base, skills) "
		"SELECT d.code || '-A' || lpad((coalesce((SELECT max(substring(a.code FROM '-A([0-9]+)$')::int) FROM agent a "
		"                                          WHERE a.district_id = d.id), 0) + 1)::text, 2, '0'), "
		"       $1, $2, $3, d.id, $4, ST_SetSRID(ST_MakePoint($6, $5), 4326)::geography, $7::text[] "
		"FROM district d WHERE d.id = $8 RETURNING id, code";
	struct jv v = { 0 };
	double lat = 0, lon = 0;
	buf_t skills;
	char slat[32], slon[32], hash[160], password[17], detail[160];
	unsigned char raw[12];
	enum db_status st = DB_OK;
	PGresult *zone = NULL, *res = NULL;

	buf_init(&skills, 4096);
	jv_only(&v, r->json, "", fields);
	const char *name = jv_string(&v, r->json, "", "name", 1, 1, 100);
	const char *phone = jv_string(&v, r->json, "", "phone", 1, 9, 16);
	if (!v.failed && !account_phone_valid(phone))
		jv_fail(&v, "", "phone", "must be in international format, e.g. +919876543210");
	const char *zcode = jv_string(&v, r->json, "", "zone", 1, 2, 16);
	json_t *base = jv_object(&v, r->json, "", "base", 1);
	jv_only(&v, base, "base", loc);
	jv_number(&v, base, "base", "lat", 1, -90, 90, &lat);
	jv_number(&v, base, "base", "lon", 1, -180, 180, &lon);
	if (!admin_skills(&v, r->json, &skills) && !v.failed)
		buf_puts(&skills, "{*}");
	if (v.failed) {
		jv_reply(r, &v);
		goto out;
	}
	if (admin_unknown_skills(skills.data, &st) != 0 || st != DB_OK) {
		if (st != DB_OK)
			http_error_db(r, st);
		else
			http_error_field(r, "skills", "names no known service code or department");
		goto out;
	}
	zone = admin_zone_find(r, zcode, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(zone) != 1) {
		http_error_field(r, "zone", "no such zone in your district");
		goto out;
	}
	if (crypto_random(raw, sizeof raw) != 0) {
		http_error(r, 500, "internal_error", "no randomness available");
		goto out;
	}
	crypto_base64url(raw, sizeof raw, password); /* 16 characters, 96 bits */
	if (crypto_password_hash(password, CRYPTO_PBKDF2_ITERATIONS, hash, sizeof hash) != 0) {
		http_error(r, 500, "internal_error", "the password could not be hashed");
		goto out;
	}
	snprintf(slat, sizeof slat, "%.7f", lat);
	snprintf(slon, sizeof slon, "%.7f", lon);
	const char *p[] = { hash, name, phone, db_get(zone, 0, 0), slat, slon, skills.data, db_get(zone, 0, 1) };
	/* The next code of the district; two officers creating at once collide on UNIQUE. */
	for (int i = 0; i < ADMIN_CODE_TRIES; i++) {
		PQclear(res);
		if ((st = db_begin()) != DB_OK)
			break;
		res = db_exec(q_insert, 8, p, &st);
		if (st == DB_OK) {
			snprintf(detail, sizeof detail, "{\"zone\": \"%s\"}", zcode);
			if ((st = admin_audit(r, db_get(zone, 0, 1), "agent.created", "agent", db_get(res, 0, 1), detail)) ==
				    DB_OK &&
			    (st = db_commit()) == DB_OK)
				break;
		}
		db_rollback();
		if (st != DB_UNIQUE)
			break;
	}
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	char now[40];
	clock_now_text(now, sizeof now);
	const char *jp[] = { db_get(res, 0, 0), now };
	PGresult *j = db_exec(admin_q_agent_json, 2, jp, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
	} else {
		json_t *body = json_loads(db_get(j, 0, 0), 0, NULL);
		json_object_set_new(body, "password", json_string(password));
		http_reply_json(r, 201, body);
	}
	PQclear(j);
out:
	PQclear(zone);
	PQclear(res);
	buf_free(&skills);
}

void admin_agent_update(struct http_req *r)
{
	static const char *const fields[] = { "name", "phone", "zone", "base", "skills", "active", NULL };
	static const char *const loc[] = { "lat", "lon", NULL };
	/* Visits still to come hold units of the agent's windows: the agent cannot leave the
	 * zone or stop working while any are held. */
	static const char q_future[] =
		"SELECT count(*) FROM booking WHERE agent_id = $1 AND window_end > $2 AND status IN ('booked', 'assigned')";
	static const char q_update[] =
		"UPDATE agent SET name = coalesce($2, name), phone = coalesce($3, phone), zone_id = coalesce($4::int, zone_id), "
		"  base = coalesce(ST_SetSRID(ST_MakePoint($6::float8, $5::float8), 4326)::geography, base), "
		"  skills = coalesce($7::text[], skills), active = coalesce($8::boolean, active) WHERE id = $1";
	/* After a zone change the future windows follow the agent's new zone's templates. */
	static const char q_rewindow[] =
		"WITH del AS (DELETE FROM agent_window WHERE agent_id = $1 AND starts_at > $2 AND booked = 0 RETURNING 1) "
		"SELECT agent_windows_materialize(($2::timestamptz AT TIME ZONE 'UTC')::date, "
		"                                 ($2::timestamptz AT TIME ZONE 'UTC')::date + 400) FROM (SELECT count(*) FROM del) x";
	struct jv v = { 0 };
	double lat = 0, lon = 0;
	buf_t skills;
	char slat[32], slon[32], now[40];
	int has_base = 0;
	enum db_status st = DB_OK;
	PGresult *agent = NULL, *zone = NULL, *res = NULL;

	buf_init(&skills, 4096);
	jv_only(&v, r->json, "", fields);
	const char *name = jv_string(&v, r->json, "", "name", 0, 1, 100);
	const char *phone = jv_string(&v, r->json, "", "phone", 0, 9, 16);
	if (!v.failed && phone && !account_phone_valid(phone))
		jv_fail(&v, "", "phone", "must be in international format, e.g. +919876543210");
	const char *zcode = jv_string(&v, r->json, "", "zone", 0, 2, 16);
	json_t *base = jv_object(&v, r->json, "", "base", 0);
	if (base) {
		jv_only(&v, base, "base", loc);
		jv_number(&v, base, "base", "lat", 1, -90, 90, &lat);
		jv_number(&v, base, "base", "lon", 1, -180, 180, &lon);
		has_base = 1;
	}
	int has_skills = admin_skills(&v, r->json, &skills);
	json_t *active = v.failed ? NULL : json_object_get(r->json, "active");
	if (active && !json_is_boolean(active))
		jv_fail(&v, "", "active", "must be true or false");
	if (v.failed) {
		jv_reply(r, &v);
		goto out;
	}
	if (has_skills && (admin_unknown_skills(skills.data, &st) != 0 || st != DB_OK)) {
		if (st != DB_OK)
			http_error_db(r, st);
		else
			http_error_field(r, "skills", "names no known service code or department");
		goto out;
	}
	if (zcode) {
		zone = admin_zone_find(r, zcode, &st);
		if (st != DB_OK || PQntuples(zone) != 1) {
			if (st != DB_OK)
				http_error_db(r, st);
			else
				http_error_field(r, "zone", "no such zone in your district");
			goto out;
		}
	}
	clock_now_text(now, sizeof now);
	if ((st = db_begin()) != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	agent = admin_agent_find(r, 1, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(agent) != 1) {
		http_error(r, 404, "not_found", "no agent with this code in your district");
		goto out;
	}
	int moves_zone = zcode && strcmp(zcode, db_get(agent, 0, 2)) != 0;
	if (moves_zone || (active && json_is_false(active))) {
		const char *fp[] = { db_get(agent, 0, 0), now };
		res = db_exec(q_future, 2, fp, &st);
		if (st != DB_OK) {
			http_error_db(r, st);
			goto out;
		}
		if (db_get_ll(res, 0, 0) > 0) {
			http_error(r, 409, "agent_has_visits",
				   "the agent holds %lld visits still to come; mark them unavailable for those days or "
				   "reassign the visits first",
				   db_get_ll(res, 0, 0));
			goto out;
		}
	}
	snprintf(slat, sizeof slat, "%.7f", lat);
	snprintf(slon, sizeof slon, "%.7f", lon);
	const char *up[] = { db_get(agent, 0, 0), name, phone, zone ? db_get(zone, 0, 0) : NULL, has_base ? slat : NULL,
			     has_base ? slon : NULL, has_skills ? skills.data : NULL,
			     active ? (json_is_true(active) ? "true" : "false") : NULL };
	const char *wp[] = { db_get(agent, 0, 0), now };
	if ((st = db_run(q_update, 8, up)) != DB_OK || (moves_zone && (st = db_run(q_rewindow, 2, wp)) != DB_OK) ||
	    (st = admin_audit(r, db_get(agent, 0, 1), "agent.updated", "agent", r->params[0], r->body)) != DB_OK ||
	    (st = db_commit()) != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	http_reply_query(r, admin_q_agent_json, 2, wp);
out:
	PQclear(agent);
	PQclear(zone);
	PQclear(res);
	buf_free(&skills);
}

/* ---- shifts ---- */

void admin_shift_put(struct http_req *r)
{
	static const char *const fields[] = { "start", "end", "per_window", NULL };
	static const char q_upsert[] =
		"INSERT INTO agent_shift (agent_id, day, start_local, end_local, per_window) VALUES ($1, $2, $3, $4, $5) "
		"ON CONFLICT (agent_id, day) DO UPDATE SET start_local = $3, end_local = $4, per_window = $5";
	/* Windows of the day that the new shift no longer covers go, unless booked. */
	static const char q_booked_outside[] =
		"SELECT count(*) FROM agent_window w JOIN agent a ON a.id = w.agent_id JOIN district d ON d.id = a.district_id "
		"JOIN agent_shift s ON s.agent_id = a.id AND s.day = $2::date "
		"WHERE w.agent_id = $1 AND (w.starts_at AT TIME ZONE d.time_zone)::date = $2::date AND w.booked > 0 "
		"  AND ((w.starts_at AT TIME ZONE d.time_zone)::time < s.start_local OR (w.ends_at AT TIME ZONE d.time_zone)::time > s.end_local)";
	static const char q_drop[] =
		"DELETE FROM agent_window w USING agent a, district d, agent_shift s "
		"WHERE w.agent_id = $1 AND a.id = w.agent_id AND d.id = a.district_id AND s.agent_id = a.id AND s.day = $2::date "
		"  AND (w.starts_at AT TIME ZONE d.time_zone)::date = $2::date "
		"  AND ((w.starts_at AT TIME ZONE d.time_zone)::time < s.start_local OR (w.ends_at AT TIME ZONE d.time_zone)::time > s.end_local)";
	static const char q_below[] =
		"SELECT count(*) FROM agent_window w JOIN agent a ON a.id = w.agent_id JOIN district d ON d.id = a.district_id "
		"WHERE w.agent_id = $1 AND (w.starts_at AT TIME ZONE d.time_zone)::date = $2::date AND w.booked > $3::int";
	/* An agent marked unavailable that day keeps capacity = booked. */
	static const char q_capacity[] =
		"UPDATE agent_window w SET capacity = CASE WHEN EXISTS (SELECT 1 FROM agent_unavailable u WHERE u.agent_id = $1 "
		"                                                       AND u.day = $2::date) THEN w.booked ELSE $3::int END "
		"FROM agent a, district d WHERE w.agent_id = $1 AND a.id = w.agent_id AND d.id = a.district_id "
		"  AND (w.starts_at AT TIME ZONE d.time_zone)::date = $2::date";
	static const char q_materialize[] = "SELECT agent_windows_materialize($1::date, $1::date)";
	static const char q_reply[] =
		"SELECT jsonb_build_object('agent', a.code, 'date', s.day, 'start', to_char(s.start_local, 'HH24:MI'), "
		"  'end', to_char(s.end_local, 'HH24:MI'), 'per_window', s.per_window, "
		"  'windows', coalesce((SELECT jsonb_agg(jsonb_build_object('start', rfc3339(w.starts_at, d.time_zone), "
		"       'end', rfc3339(w.ends_at, d.time_zone), 'capacity', w.capacity, 'booked', w.booked) ORDER BY w.starts_at) "
		"     FROM agent_window w WHERE w.agent_id = a.id AND (w.starts_at AT TIME ZONE d.time_zone)::date = s.day), '[]'))::text "
		"FROM agent a JOIN district d ON d.id = a.district_id JOIN agent_shift s ON s.agent_id = a.id AND s.day = $2::date "
		"WHERE a.id = $1";
	struct jv v = { 0 };
	double per = 0;
	char sper[8];
	enum db_status st;
	PGresult *agent = NULL, *res = NULL;

	jv_only(&v, r->json, "", fields);
	const char *start = jv_string(&v, r->json, "", "start", 1, 5, 5);
	const char *end = jv_string(&v, r->json, "", "end", 1, 5, 5);
	jv_number(&v, r->json, "", "per_window", 1, 0, 50, &per);
	if (!v.failed && !clock_hhmm_valid(start))
		jv_fail(&v, "", "start", "must be a local time HH:MM");
	if (!v.failed && (!clock_hhmm_valid(end) || strcmp(start, end) >= 0))
		jv_fail(&v, "", "end", "start and end are HH:MM local times, end after start");
	if (!v.failed && per != (double)(long)per)
		jv_fail(&v, "", "per_window", "must be a whole number");
	if (!clock_date_valid(r->params[1])) {
		http_error_field(r, "date", "must be YYYY-MM-DD");
		return;
	}
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	snprintf(sper, sizeof sper, "%ld", (long)per);
	if ((st = db_begin()) != DB_OK) {
		http_error_db(r, st);
		return;
	}
	agent = admin_agent_find(r, 1, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(agent) != 1) {
		http_error(r, 404, "not_found", "no agent with this code in your district");
		goto out;
	}
	const char *p[] = { db_get(agent, 0, 0), r->params[1], start, end, sper };
	const char *bp[] = { db_get(agent, 0, 0), r->params[1], sper };
	if ((st = db_run(q_upsert, 5, p)) != DB_OK)
		goto db_fail;
	res = db_exec(q_booked_outside, 2, p, &st);
	if (st != DB_OK)
		goto db_fail;
	if (db_get_ll(res, 0, 0) > 0) {
		http_error(r, 409, "capacity_below_booked", "visits are booked in windows outside the new shift");
		goto out;
	}
	PQclear(res);
	res = db_exec(q_below, 3, bp, &st);
	if (st != DB_OK)
		goto db_fail;
	if (db_get_ll(res, 0, 0) > 0) {
		http_error(r, 409, "capacity_below_booked",
			   "more visits than %s are already booked in a window of this day; reassign them first", sper);
		goto out;
	}
	const char *mp[] = { r->params[1] };
	if ((st = db_run(q_drop, 2, p)) != DB_OK || (st = db_run(q_capacity, 3, bp)) != DB_OK ||
	    (st = db_run(q_materialize, 1, mp)) != DB_OK || (st = db_run(q_capacity, 3, bp)) != DB_OK ||
	    (st = admin_audit(r, db_get(agent, 0, 1), "agent.shift", "agent", r->params[0], r->body)) != DB_OK ||
	    (st = db_commit()) != DB_OK)
		goto db_fail;
	http_reply_query(r, q_reply, 2, p);
	goto out;
db_fail:
	http_error_db(r, st);
out:
	PQclear(agent);
	PQclear(res);
}

/* ---- zones ---- */

/* One zone as a GeoJSON feature, from zone z joined with its district d. */
#define ADMIN_ZONE_FEATURE                                                                                     \
	"jsonb_build_object('type', 'Feature', 'id', z.code, 'geometry', ST_AsGeoJSON(z.area, 7)::jsonb, "     \
	"  'properties', jsonb_build_object('code', z.code, 'name_en', z.name_en, 'name_hi', z.name_hi, "      \
	"                                   'district', d.code))"

void admin_zones_list(struct http_req *r)
{
	static const char sql[] =
		"SELECT jsonb_build_object('type', 'FeatureCollection', 'features', "
		"       coalesce(jsonb_agg(" ADMIN_ZONE_FEATURE " ORDER BY z.code), '[]'))::text "
		"FROM zone z JOIN district d ON d.id = z.district_id WHERE ($1::int = 0 OR z.district_id = $1::int)";
	char actor[24], district[24];
	admin_ids(r, actor, district);
	const char *p[] = { district };
	http_reply_query(r, sql, 1, p);
}

/* The same outlines for anyone (no personal data in them): the resident app's map and its
 * list of areas. ?district=CODE narrows to one district. */
void admin_zones_public(struct http_req *r)
{
	static const char sql[] =
		"SELECT jsonb_build_object('type', 'FeatureCollection', 'features', "
		"       coalesce(jsonb_agg(" ADMIN_ZONE_FEATURE " ORDER BY z.code), '[]'))::text "
		"FROM zone z JOIN district d ON d.id = z.district_id WHERE ($1::text IS NULL OR d.code = $1)";
	char code[20];
	int has = http_query(r, "district", code, sizeof code);
	if (has < 0 || (has && (strlen(code) < 2 || strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != strlen(code)))) {
		http_error_field(r, "district", "must be a district code, e.g. RPR");
		return;
	}
	const char *p[] = { has ? code : NULL };
	http_reply_query(r, sql, 1, p);
}

void admin_zone_put(struct http_req *r)
{
	/* Parsed and checked by PostGIS without touching the zone first; then stored. */
	static const char q_check[] =
		"SELECT ST_IsValid(g), ST_IsValidReason(g), GeometryType(g) FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) g) x";
	static const char q_update[] =
		"UPDATE zone SET area = ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326)) WHERE id = $2";
	static const char q_reply[] =
		"SELECT " ADMIN_ZONE_FEATURE "::text FROM zone z JOIN district d ON d.id = z.district_id WHERE z.id = $1";
	static const char *const feature[] = { "type", "id", "geometry", "properties", NULL };
	enum db_status st;
	char *geometry = NULL;
	PGresult *zone = NULL, *res = NULL;
	struct jv v = { 0 };

	const char *type = jv_string(&v, r->json, "", "type", 1, 1, 40);
	json_t *g = r->json;
	if (!v.failed && strcmp(type, "Feature") == 0) {
		jv_only(&v, r->json, "", feature);
		g = jv_object(&v, r->json, "", "geometry", 1);
		type = jv_string(&v, g, "geometry", "type", 1, 1, 40);
	}
	if (!v.failed && strcmp(type, "Polygon") != 0 && strcmp(type, "MultiPolygon") != 0)
		jv_fail(&v, "", "type", "must be a GeoJSON Polygon or MultiPolygon, or a Feature with one");
	if (v.failed) {
		jv_reply(r, &v);
		goto out;
	}
	geometry = json_dumps(g, JSON_COMPACT);
	zone = admin_zone_find(r, r->params[0], &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(zone) != 1) {
		http_error(r, 404, "not_found", "no zone with this code in your district");
		goto out;
	}
	const char *cp[] = { geometry };
	res = db_exec(q_check, 1, cp, &st);
	if (st != DB_OK || db_get(res, 0, 0)[0] != 't') {
		if (st != DB_OK && st != DB_FAILED && st != DB_BAD_INPUT)
			http_error_db(r, st);
		else
			http_error(r, 422, "invalid_geometry", "the polygon is not valid: %s",
				   st == DB_OK ? db_get(res, 0, 1) : "not readable GeoJSON");
		goto out;
	}
	const char *up[] = { geometry, db_get(zone, 0, 0) };
	if ((st = db_begin()) != DB_OK || (st = db_run(q_update, 2, up)) != DB_OK ||
	    (st = admin_audit(r, db_get(zone, 0, 1), "zone.area", "zone", r->params[0], NULL)) != DB_OK ||
	    (st = db_commit()) != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	const char *rp[] = { db_get(zone, 0, 0) };
	http_reply_query(r, q_reply, 1, rp);
out:
	free(geometry);
	PQclear(zone);
	PQclear(res);
}

/* ---- reassignment ---- */

enum admin_outcome { ADMIN_MOVED, ADMIN_UNPLACED, ADMIN_FROZEN, ADMIN_GONE, ADMIN_NO_AGENT };

/* Moves one visit to another agent in its own transaction: takes a unit of the new agent
 * (`to_code`, or the nearest capable agent of the zone with a unit left in the same
 * window), gives the old unit back, records the change and tells the resident. Without a
 * unit (or, for a frozen visit, without `explicit_move`), flags the visit instead with
 * `flag`. *outcome says which; new_code receives the new agent's code. */
static enum db_status admin_move_visit(struct http_req *r, const char *booking_id, const char *to_code,
				       int explicit_move, const char *flag, enum admin_outcome *outcome,
				       char new_code[24])
{
	static const char q_lock[] =
		"SELECT b.id, b.status, b.agent_id, b.zone_id, "
		"       to_char(b.window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), b.service_code, "
		"       s.department, ST_Y(b.location), ST_X(b.location), b.district_id, b.reference, "
		"       (b.window_start AT TIME ZONE d.time_zone)::date "
		"FROM booking b JOIN service s ON s.code = b.service_code JOIN district d ON d.id = b.district_id "
		"WHERE b.id = $1 AND b.status IN ('booked', 'assigned') FOR UPDATE OF b";
	static const char q_take_named[] =
		"UPDATE agent_window w SET booked = w.booked + 1 FROM agent a "
		" WHERE a.id = w.agent_id AND a.code = $1 AND a.district_id = $2 AND a.active AND a.id <> $5 "
		"   AND w.starts_at = $3 AND w.booked < w.capacity AND a.skills && ARRAY[$4, $6, '*'] "
		"   AND NOT EXISTS (SELECT 1 FROM agent_unavailable u WHERE u.agent_id = a.id AND u.day = $7::date) "
		"RETURNING w.agent_id";
	static const char q_release[] =
		"UPDATE agent_window w SET booked = w.booked - 1, capacity = w.capacity - CASE WHEN EXISTS (SELECT 1 "
		"    FROM agent_unavailable u WHERE u.agent_id = w.agent_id AND u.day = $3::date) THEN 1 ELSE 0 END "
		"WHERE w.agent_id = $1 AND w.starts_at = $2";
	static const char q_move[] =
		"UPDATE booking SET agent_id = $2, route_order = NULL, planned_arrival = NULL, needs_attention = NULL, "
		"  attention_at = NULL, updated_at = $3 WHERE id = $1 RETURNING (SELECT code FROM agent WHERE id = $2)";
	static const char q_flag[] =
		"UPDATE booking SET needs_attention = $2, attention_at = $3, updated_at = $3 WHERE id = $1";
	static const char q_record[] =
		"WITH e AS (INSERT INTO booking_event (booking_id, district_id, action, from_status, to_status, actor_role, "
		"                                      actor_id, at, note) "
		"           VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8) RETURNING id) "
		"INSERT INTO audit_log (district_id, at, actor_role, actor_id, action, object_type, object_ref, detail) "
		"SELECT $2, $7, $5, $6, 'booking.' || $3, 'booking', $9, jsonb_build_object('event', e.id, 'note', $8::text) FROM e";
	static const char q_notify[] =
		"SELECT booking_notify($1, 'reassigned', $2, (SELECT name FROM agent WHERE id = $3), 'to:' || $3 || ':' || $4)";
	/* A frozen visit was announced with its agent and code: the new agent gets a new code,
	 * and the resident is told both (the old code must not open the door any more). */
	static const char q_recode[] = "UPDATE booking SET visit_code_hash = decode($2, 'hex') WHERE id = $1";
	static const char q_notify_frozen[] =
		"SELECT booking_notify_ex($1, 'booking_reassigned', $2, NULL, 'to:' || $3 || ':' || $4, "
		"                         jsonb_build_object('code', $5::text))";
	char now[40], actor[24], note[160], stamp[24], new_id[16] = "", code[VISIT_CODE_DIGITS + 1], hash[65];
	enum db_status st;
	PGresult *b = NULL, *res = NULL;

	*outcome = ADMIN_GONE;
	new_code[0] = '\0';
	clock_now_text(now, sizeof now);
	snprintf(actor, sizeof actor, "%lld", r->auth.id);
	snprintf(stamp, sizeof stamp, "%lld", (long long)clock_now_us());
	if ((st = db_begin()) != DB_OK)
		return st;
	const char *lp[] = { booking_id };
	b = db_exec(q_lock, 1, lp, &st);
	if (st != DB_OK || PQntuples(b) != 1)
		goto out; /* cancelled or moved on meanwhile: nothing to do */
	const char *status = db_get(b, 0, 1);
	int frozen = strcmp(status, "assigned") == 0;
	if (!frozen || explicit_move) {
		if (to_code) {
			const char *tp[] = { to_code, db_get(b, 0, 9), db_get(b, 0, 4), db_get(b, 0, 5), db_get(b, 0, 2),
					     db_get(b, 0, 6), db_get(b, 0, 11) };
			res = db_exec(q_take_named, 7, tp, &st);
		} else {
			char window_end[40];
			int taken = 0;
			st = booking_take_unit(db_get(b, 0, 3), db_get(b, 0, 4), db_get(b, 0, 5), db_get(b, 0, 6),
					       db_get(b, 0, 7), db_get(b, 0, 8), db_get(b, 0, 2), &taken, new_id,
					       window_end);
			if (!taken)
				new_id[0] = '\0';
		}
		if (st != DB_OK)
			goto out;
		if (res && PQntuples(res) == 1)
			snprintf(new_id, sizeof new_id, "%s", db_get(res, 0, 0));
		PQclear(res);
		res = NULL;
	}
	if (new_id[0]) {
		const char *rp[] = { db_get(b, 0, 2), db_get(b, 0, 4), db_get(b, 0, 11) };
		const char *mp[] = { booking_id, new_id, now };
		if ((st = db_run(q_release, 3, rp)) != DB_OK)
			goto out;
		res = db_exec(q_move, 3, mp, &st);
		if (st != DB_OK)
			goto out;
		snprintf(new_code, 24, "%s", db_get(res, 0, 0));
		snprintf(note, sizeof note, "agent changed to %s", new_code);
		const char *ep[] = { booking_id, db_get(b, 0, 9), "reassigned", status, auth_role_name(r->auth.role), actor,
				     now, note, db_get(b, 0, 10) };
		if ((st = db_run(q_record, 9, ep)) != DB_OK)
			goto out;
		if (frozen) {
			if (visit_code_new(db_get(b, 0, 10), code, hash) != 0) {
				st = DB_FAILED;
				goto out;
			}
			const char *cp[] = { booking_id, hash };
			const char *np[] = { booking_id, now, new_id, stamp, code };
			if ((st = db_run(q_recode, 2, cp)) != DB_OK || (st = db_run(q_notify_frozen, 5, np)) != DB_OK)
				goto out;
		} else {
			const char *np[] = { booking_id, now, new_id, stamp };
			if ((st = db_run(q_notify, 4, np)) != DB_OK)
				goto out;
		}
		*outcome = ADMIN_MOVED;
	} else if (explicit_move) {
		*outcome = ADMIN_NO_AGENT; /* the officer's move found no unit: nothing changes */
		goto out;
	} else {
		const char *fp[] = { booking_id, frozen ? "frozen_agent_unavailable" : flag, now };
		snprintf(note, sizeof note, "needs attention: %s", fp[1]);
		const char *ep[] = { booking_id, db_get(b, 0, 9), "needs_attention", status, auth_role_name(r->auth.role),
				     actor, now, note, db_get(b, 0, 10) };
		if ((st = db_run(q_flag, 3, fp)) != DB_OK || (st = db_run(q_record, 9, ep)) != DB_OK)
			goto out;
		*outcome = frozen ? ADMIN_FROZEN : ADMIN_UNPLACED;
	}
	st = db_commit();
out:
	if (st != DB_OK || *outcome == ADMIN_GONE || *outcome == ADMIN_NO_AGENT)
		db_rollback();
	PQclear(b);
	PQclear(res);
	return st;
}

void admin_agent_unavailable(struct http_req *r)
{
	static const char *const fields[] = { "date", "reason", NULL };
	static const char q_mark[] =
		"INSERT INTO agent_unavailable (agent_id, day, district_id, reason, created_by, created_at) "
		"VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (agent_id, day) DO UPDATE SET reason = EXCLUDED.reason";
	/* No new booking lands on the agent that day; units given back later shrink it too. */
	static const char q_close[] =
		"UPDATE agent_window w SET capacity = w.booked FROM agent a, district d "
		"WHERE w.agent_id = $1 AND a.id = w.agent_id AND d.id = a.district_id "
		"  AND (w.starts_at AT TIME ZONE d.time_zone)::date = $2::date";
	static const char q_visits[] =
		"SELECT b.id, b.reference FROM booking b JOIN district d ON d.id = b.district_id "
		"WHERE b.agent_id = $1 AND b.status IN ('booked', 'assigned') "
		"  AND (b.window_start AT TIME ZONE d.time_zone)::date = $2::date ORDER BY b.window_start, b.id";
	struct jv v = { 0 };
	char now[40], actor[24], detail[400];
	enum db_status st;
	PGresult *agent = NULL, *visits = NULL;
	json_t *moved = NULL, *unplaced = NULL, *frozen = NULL;

	jv_only(&v, r->json, "", fields);
	const char *day = jv_string(&v, r->json, "", "date", 1, 10, 10);
	if (!v.failed && !clock_date_valid(day))
		jv_fail(&v, "", "date", "must be YYYY-MM-DD");
	const char *reason = jv_string(&v, r->json, "", "reason", 1, 1, 200);
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	clock_now_text(now, sizeof now);
	snprintf(actor, sizeof actor, "%lld", r->auth.id);
	if ((st = db_begin()) != DB_OK)
		goto db_fail;
	agent = admin_agent_find(r, 1, &st);
	if (st != DB_OK)
		goto db_fail;
	if (PQntuples(agent) != 1) {
		http_error(r, 404, "not_found", "no agent with this code in your district");
		goto out;
	}
	const char *mp[] = { db_get(agent, 0, 0), day, db_get(agent, 0, 1), reason, actor, now };
	json_t *d = json_pack("{s:s, s:s}", "date", day, "reason", reason);
	char *dtext = json_dumps(d, JSON_COMPACT);
	snprintf(detail, sizeof detail, "%s", dtext ? dtext : "{}");
	free(dtext);
	json_decref(d);
	if ((st = db_run(q_mark, 6, mp)) != DB_OK || (st = db_run(q_close, 2, mp)) != DB_OK ||
	    (st = admin_audit(r, db_get(agent, 0, 1), "agent.unavailable", "agent", r->params[0], detail)) != DB_OK ||
	    (st = db_commit()) != DB_OK)
		goto db_fail;
	visits = db_exec(q_visits, 2, mp, &st);
	if (st != DB_OK)
		goto db_fail;
	moved = json_array();
	unplaced = json_array();
	frozen = json_array();
	/* One transaction per visit: a visit that cannot move keeps its unit and is flagged. */
	for (int i = 0; i < PQntuples(visits); i++) {
		enum admin_outcome outcome;
		char to[24];
		for (int tries = 0; tries < 3; tries++)
			if ((st = admin_move_visit(r, db_get(visits, i, 0), NULL, 0, "agent_unavailable", &outcome, to)) !=
			    DB_RETRY)
				break;
		if (st != DB_OK)
			goto db_fail;
		const char *ref = db_get(visits, i, 1);
		if (outcome == ADMIN_MOVED)
			json_array_append_new(moved, json_pack("{s:s, s:s, s:s}", "reference", ref, "from", r->params[0], "to", to));
		else if (outcome == ADMIN_UNPLACED)
			json_array_append_new(unplaced, json_string(ref));
		else if (outcome == ADMIN_FROZEN)
			json_array_append_new(frozen, json_string(ref));
	}
	http_reply_json(r, 200, json_pack("{s:s, s:s, s:s, s:O, s:O, s:O}", "agent", r->params[0], "date", day, "reason",
					  reason, "moved", moved, "unplaced", unplaced, "frozen", frozen));
	goto out;
db_fail:
	db_rollback();
	http_error_db(r, st);
out:
	json_decref(moved);
	json_decref(unplaced);
	json_decref(frozen);
	PQclear(agent);
	PQclear(visits);
}

void admin_reassign(struct http_req *r)
{
	static const char *const fields[] = { "agent", NULL };
	static const char q_find[] =
		"SELECT b.id FROM booking b WHERE b.reference = $1 AND ($2::int = 0 OR b.district_id = $2::int)";
	static const char q_reply[] =
		"SELECT (booking_json(b, 'en') || jsonb_build_object('agent', jsonb_build_object('code', a.code, 'name', a.name), "
		"        'needs_attention', b.needs_attention))::text FROM booking b JOIN agent a ON a.id = b.agent_id WHERE b.id = $1";
	struct jv v = { 0 };
	char actor[24], district[24], to[24], id[24];
	enum admin_outcome outcome = ADMIN_GONE;
	enum db_status st;
	PGresult *res = NULL;

	if (r->json) {
		jv_only(&v, r->json, "", fields);
		(void)jv_string(&v, r->json, "", "agent", 0, 2, 24);
	}
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	const char *agent = r->json ? jv_string(&v, r->json, "", "agent", 0, 2, 24) : NULL;
	admin_ids(r, actor, district);
	const char *p[] = { r->params[0], district };
	res = db_exec(q_find, 2, p, &st);
	if (st != DB_OK)
		goto db_fail;
	if (PQntuples(res) != 1) {
		http_error(r, 404, "not_found", "no booking with this reference in your district");
		goto out;
	}
	snprintf(id, sizeof id, "%s", db_get(res, 0, 0));
	PQclear(res);
	res = NULL;
	for (int tries = 0; tries < 3; tries++)
		if ((st = admin_move_visit(r, id, agent, 1, "agent_unavailable", &outcome, to)) != DB_RETRY)
			break;
	if (st != DB_OK)
		goto db_fail;
	if (outcome == ADMIN_GONE) {
		http_error(r, 409, "wrong_state", "only a booked or assigned visit can be reassigned");
		goto out;
	}
	if (outcome == ADMIN_NO_AGENT) {
		http_error(r, 409, "agent_full",
			   agent ? "that agent cannot take this visit: not active, not skilled for it, off that day, or no "
				   "unit left in its window"
				 : "no capable agent of the zone has a unit left in this window");
		goto out;
	}
	const char *rp[] = { id };
	res = db_exec(q_reply, 1, rp, &st);
	if (st != DB_OK)
		goto db_fail;
	http_reply_json_text(r, outcome == ADMIN_MOVED ? 200 : 409, db_get(res, 0, 0));
	goto out;
db_fail:
	http_error_db(r, st);
out:
	PQclear(res);
}

/* The office's steps after the visit: the application was submitted to the department, the
 * certificate is ready, it was delivered, or the department rejected it. The change is
 * recorded like every other, and the event's trigger texts the resident. */
void admin_booking_status(struct http_req *r)
{
	static const char *const fields[] = { "status", "note", NULL };
	static const char *const office_statuses[] = { "submitted", "certificate_ready", "delivered", "rejected", NULL };
	static const char q_lock[] =
		"SELECT b.id, b.status, b.district_id FROM booking b "
		"WHERE b.reference = $1 AND ($2::int = 0 OR b.district_id = $2::int) FOR UPDATE";
	static const char q_update[] = "UPDATE booking SET status = $2, updated_at = $3 WHERE id = $1";
	static const char q_reply[] = "SELECT booking_json(b, 'en')::text FROM booking b WHERE b.id = $1";
	struct jv v = { 0 };
	char actor[24], district[24], now[40], id[24];
	enum db_status st;
	PGresult *b = NULL, *res = NULL;
	int known = 0;

	jv_only(&v, r->json, "", fields);
	const char *status = jv_string(&v, r->json, "", "status", 1, 1, 40);
	const char *note = jv_string(&v, r->json, "", "note", 0, 0, 500);
	for (int i = 0; status && office_statuses[i]; i++)
		known |= strcmp(status, office_statuses[i]) == 0;
	if (!v.failed && !known)
		jv_fail(&v, "", "status", "must be one of submitted, certificate_ready, delivered, rejected");
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	admin_ids(r, actor, district);
	clock_now_text(now, sizeof now);
	if ((st = db_begin()) != DB_OK)
		goto db_fail;
	const char *lp[] = { r->params[0], district };
	b = db_exec(q_lock, 2, lp, &st);
	if (st != DB_OK)
		goto db_fail;
	if (PQntuples(b) != 1) {
		http_error(r, 404, "not_found", "no booking with this reference in your district");
		goto out;
	}
	snprintf(id, sizeof id, "%s", db_get(b, 0, 0));
	const char *from = db_get(b, 0, 1);
	if (strcmp(from, status) != 0) { /* a repeat changes nothing */
		if (!booking_state_allowed(from, status)) {
			http_error(r, 409, "wrong_state", "a booking that is %s cannot become %s", from, status);
			goto out;
		}
		const char *up[] = { id, status, now };
		if ((st = db_run(q_update, 3, up)) != DB_OK ||
		    (st = booking_record(r, id, db_get(b, 0, 2), r->params[0], "status", from, status, now, note)) != DB_OK ||
		    (st = db_commit()) != DB_OK)
			goto db_fail;
		log_info("booking %s: %s -> %s by the office", r->params[0], from, status);
	}
	const char *rp[] = { id };
	http_reply_query(r, q_reply, 1, rp);
	goto out;
db_fail:
	http_error_db(r, st);
out:
	db_rollback();
	PQclear(b);
	PQclear(res);
}

void admin_unplaced(struct http_req *r)
{
	static const char sql[] =
		"SELECT coalesce(jsonb_agg(jsonb_build_object('reference', b.reference, 'status', b.status, "
		"  'needs_attention', b.needs_attention, 'since', rfc3339(b.attention_at, d.time_zone), 'zone', z.code, "
		"  'agent', a.code, 'service', b.service_code, "
		"  'window', jsonb_build_object('start', rfc3339(b.window_start, d.time_zone), 'end', rfc3339(b.window_end, d.time_zone))) "
		"  ORDER BY b.window_start, b.id), '[]')::text "
		"FROM booking b JOIN district d ON d.id = b.district_id JOIN zone z ON z.id = b.zone_id "
		"LEFT JOIN agent a ON a.id = b.agent_id "
		"WHERE b.needs_attention IS NOT NULL AND b.status IN ('booked', 'assigned') "
		"  AND ($1::int = 0 OR b.district_id = $1::int) "
		"  AND ($2::date IS NULL OR (b.window_start AT TIME ZONE d.time_zone)::date = $2::date)";
	char actor[24], district[24], day[16];
	int has_day = http_query(r, "date", day, sizeof day);
	if (has_day && (has_day < 0 || !clock_date_valid(day))) {
		http_error_field(r, "date", "must be YYYY-MM-DD");
		return;
	}
	admin_ids(r, actor, district);
	const char *p[] = { district, has_day ? day : NULL };
	http_reply_query(r, sql, 2, p);
}

/* ---- plans ---- */

void admin_plan_run(struct http_req *r)
{
	static const char *const fields[] = { "date", "zone", NULL };
	static const char q_zones[] =
		"SELECT z.code FROM zone z WHERE ($1::int = 0 OR z.district_id = $1::int) AND ($2::text IS NULL OR z.code = $2) "
		"ORDER BY z.code";
	struct jv v = { 0 };
	char actor[24], district[24];
	enum db_status st;
	json_t *out = NULL;

	jv_only(&v, r->json, "", fields);
	const char *day = jv_string(&v, r->json, "", "date", 1, 10, 10);
	if (!v.failed && !clock_date_valid(day))
		jv_fail(&v, "", "date", "must be YYYY-MM-DD");
	const char *zone = jv_string(&v, r->json, "", "zone", 0, 2, 16);
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	admin_ids(r, actor, district);
	const char *p[] = { district, zone };
	PGresult *zones = db_exec(q_zones, 2, p, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(zones) == 0) {
		http_error(r, 404, "not_found", "no such zone in your district");
		goto out;
	}
	struct plan_options o = { .seed = 1, .time_limit_s = (double)cfg.plan_time_limit_s, .max_rounds = 4 };
	out = json_array();
	for (int i = 0; i < PQntuples(zones); i++) {
		struct plan_report rep;
		int found = 0;
		st = plan_zone_day(db_get(zones, i, 0), day, r->auth.district_id, auth_role_name(r->auth.role), r->auth.id,
				   &o, 0, &rep, &found);
		if (st != DB_OK) {
			http_error_db(r, st);
			goto out;
		}
		json_array_append_new(out, json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:f, s:f}", "zone", rep.zone, "date",
						     rep.day, "visits", rep.visits, "agents", rep.agents, "routed", rep.routed,
						     "moved", rep.moved, "unroutable", rep.unroutable, "travel_km",
						     rep.travel_km, "seconds", rep.seconds));
	}
	http_reply_json(r, 200, out);
	out = NULL;
out:
	json_decref(out);
	PQclear(zones);
}

void admin_plan_get(struct http_req *r)
{
	/* Per zone, each agent's visits in route order; visits not in a route at the end. */
	static const char sql[] =
		"WITH v AS (SELECT b.*, d.time_zone FROM booking b JOIN district d ON d.id = b.district_id JOIN zone z ON z.id = b.zone_id "
		"            WHERE ($1::int = 0 OR b.district_id = $1::int) AND ($3::text IS NULL OR z.code = $3) "
		"              AND b.status NOT IN ('cancelled', 'rescheduled') "
		"              AND (b.window_start AT TIME ZONE d.time_zone)::date = $2::date), "
		"     visit AS (SELECT v.agent_id, v.zone_id, v.route_order, v.window_start, v.id, jsonb_build_object("
		"                 'reference', v.reference, 'status', v.status, 'route_order', v.route_order, "
		"                 'planned_arrival', rfc3339(v.planned_arrival, v.time_zone), 'service', v.service_code, "
		"                 'needs_attention', v.needs_attention, "
		"                 'window', jsonb_build_object('start', rfc3339(v.window_start, v.time_zone), 'end', rfc3339(v.window_end, v.time_zone)), "
		"                 'location', jsonb_build_object('lat', ST_Y(v.location), 'lon', ST_X(v.location))) AS j FROM v), "
		"     per_agent AS (SELECT x.zone_id, jsonb_build_object('code', a.code, 'name', a.name, "
		"                     'visits', jsonb_agg(x.j ORDER BY x.route_order NULLS LAST, x.window_start, x.id)) AS j, a.code "
		"                   FROM visit x JOIN agent a ON a.id = x.agent_id GROUP BY x.zone_id, a.id, a.code, a.name) "
		"SELECT coalesce(jsonb_agg(jsonb_build_object('zone', z.code, 'date', $2::text, "
		"         'last_run', (SELECT jsonb_build_object('at', rfc3339(pr.created_at, 'Asia/Kolkata'), 'travel_km', round(pr.travel_km::numeric, 3), "
		"                             'moved', pr.moved, 'unroutable', pr.unroutable) FROM plan_run pr "
		"                       WHERE pr.zone_id = z.id AND pr.day = $2::date ORDER BY pr.id DESC LIMIT 1), "
		"         'agents', coalesce((SELECT jsonb_agg(p.j ORDER BY p.code) FROM per_agent p WHERE p.zone_id = z.id), '[]')) "
		"       ORDER BY z.code), '[]')::text "
		"FROM zone z WHERE ($1::int = 0 OR z.district_id = $1::int) AND ($3::text IS NULL OR z.code = $3)";
	char actor[24], district[24], day[16], zone[20];
	enum db_status st;
	PGresult *res = NULL;
	int has_day = http_query(r, "date", day, sizeof day);
	int has_zone = http_query(r, "zone", zone, sizeof zone);
	if (has_day != 1 || !clock_date_valid(day)) {
		http_error_field(r, "date", "is required, as YYYY-MM-DD");
		return;
	}
	if (has_zone < 0) {
		http_error_field(r, "zone", "is not a zone code");
		return;
	}
	admin_ids(r, actor, district);
	const char *p[] = { district, day, has_zone ? zone : NULL };
	res = db_exec(sql, 3, p, &st);
	if (st != DB_OK)
		http_error_db(r, st);
	else if (has_zone && strcmp(db_get(res, 0, 0), "[]") == 0)
		http_error(r, 404, "not_found", "no such zone in your district");
	else
		http_reply_json_text(r, 200, db_get(res, 0, 0));
	PQclear(res);
}
