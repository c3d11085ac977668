#include "office/office.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/account.h"
#include "booking/booking.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "log.h"
#include "planner/plan.h"
#include "util.h"
#include "booking/visit.h"

#define OFFICE_CODE_TRIES 3

/* A skill is a service code, a department or '*'. */
static int office_skill_ok(const char *s)
{
	size_t n = strlen(s);
	return strcmp(s, "*") == 0 || (n >= 2 && n <= 40 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n);
}

/* The "skills" member as a PostgreSQL array literal into out; 1 if present. */
static int office_skills(struct jv *v, json_t *obj, buf_t *out)
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
		if (!json_is_string(s) || !office_skill_ok(json_string_value(s))) {
			jv_fail(v, "", "skills", "each skill must be a service code, a department or \"*\"");
			return 0;
		}
		buf_printf(out, "%s\"%s\"", i ? "," : "", json_string_value(s));
	}
	buf_puts(out, "}");
	return 1;
}

/* The skills that are neither '*' nor a service code nor a department: 0 when all known. */
static int office_unknown_skills(const char *skills, enum db_status *st)
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

/* ---- agents ---- */

/* One agent as JSON, from agent a joined with its zone z, with the days from today (in the
 * district's time zone; `now` is the parameter named) on which the agent is off. */
#define OFFICE_AGENT_JSON(now)                                                                                    \
	"jsonb_build_object('code', a.code, 'name', a.name, 'phone', a.phone, 'zone', z.code, "                  \
	"  'base', jsonb_build_object('lat', ST_Y(a.base::geometry), 'lon', ST_X(a.base::geometry)), "           \
	"  'skills', to_jsonb(a.skills), 'active', a.active, "                                                    \
	"  'unavailable', coalesce((SELECT jsonb_agg(jsonb_build_object('date', u.day, 'reason', u.reason) "       \
	"                                            ORDER BY u.day) FROM agent_unavailable u JOIN district d "     \
	"                             ON d.id = u.district_id WHERE u.agent_id = a.id "                             \
	"                               AND u.day >= (" now "::timestamptz AT TIME ZONE d.time_zone)::date), '[]'))"

static const char office_q_agent_json[] =
	"SELECT " OFFICE_AGENT_JSON("$2") "::text FROM agent a JOIN zone z ON z.id = a.zone_id WHERE a.id = $1";

void office_agents_list(struct http_req *r)
{
	static const char sql[] =
		"SELECT coalesce(jsonb_agg(" OFFICE_AGENT_JSON("$3") " ORDER BY a.code), '[]')::text "
		"FROM agent a JOIN zone z ON z.id = a.zone_id "
		"WHERE ($1::int = 0 OR a.district_id = $1::int) AND ($2::text IS NULL OR z.code = $2)";
	char actor[24], district[24], zone[20], now[40];
	int has_zone = http_query(r, "zone", zone, sizeof zone);
	if (has_zone < 0) {
		http_error_field(r, "zone", "is not a zone code");
		return;
	}
	office_ids(r, actor, district);
	clock_now_text(now, sizeof now);
	const char *p[] = { district, has_zone ? zone : NULL, now };
	http_reply_query(r, sql, 3, p);
}

/* The zone of the caller's district with this code: id and district_id, or none. */
void office_agent_create(struct http_req *r)
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
	if (!office_skills(&v, r->json, &skills) && !v.failed)
		buf_puts(&skills, "{*}");
	if (v.failed) {
		jv_reply(r, &v);
		goto out;
	}
	if (office_unknown_skills(skills.data, &st) != 0 || st != DB_OK) {
		if (st != DB_OK)
			http_error_db(r, st);
		else
			http_error_field(r, "skills", "names no known service code or department");
		goto out;
	}
	zone = office_zone_find(r, zcode, &st);
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
	for (int i = 0; i < OFFICE_CODE_TRIES; i++) {
		PQclear(res);
		if ((st = db_begin()) != DB_OK)
			break;
		res = db_exec(q_insert, 8, p, &st);
		if (st == DB_OK) {
			snprintf(detail, sizeof detail, "{\"zone\": \"%s\"}", zcode);
			if ((st = office_audit(r, db_get(zone, 0, 1), "agent.created", "agent", db_get(res, 0, 1), detail)) ==
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
	PGresult *j = db_exec(office_q_agent_json, 2, jp, &st);
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

void office_agent_update(struct http_req *r)
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
	int has_skills = office_skills(&v, r->json, &skills);
	json_t *active = v.failed ? NULL : json_object_get(r->json, "active");
	if (active && !json_is_boolean(active))
		jv_fail(&v, "", "active", "must be true or false");
	if (v.failed) {
		jv_reply(r, &v);
		goto out;
	}
	if (has_skills && (office_unknown_skills(skills.data, &st) != 0 || st != DB_OK)) {
		if (st != DB_OK)
			http_error_db(r, st);
		else
			http_error_field(r, "skills", "names no known service code or department");
		goto out;
	}
	if (zcode) {
		zone = office_zone_find(r, zcode, &st);
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
	agent = office_agent_find(r, 1, &st);
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
	    (st = office_audit(r, db_get(agent, 0, 1), "agent.updated", "agent", r->params[0], r->body)) != DB_OK ||
	    (st = db_commit()) != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	http_reply_query(r, office_q_agent_json, 2, wp);
out:
	PQclear(agent);
	PQclear(zone);
	PQclear(res);
	buf_free(&skills);
}

