#include "office/office.h"

#include <stdio.h>
#include <string.h>

#include "account/account.h"
#include "audit.h"
#include "clock.h"
#include "crypto.h"
#include "util.h"

#define OFFICE_CODE_TRIES     3  /* two officers creating agents at once collide on the next code */
#define OFFICE_PASSWORD_BYTES 12 /* 96 bits: 16 base64url characters */
#define OFFICE_SKILLS_MAX     50

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
	if (!json_is_array(m) || json_array_size(m) == 0 || json_array_size(m) > OFFICE_SKILLS_MAX) {
		char msg[96];
		snprintf(msg, sizeof msg, "must be a list of 1 to %d service codes, departments or \"*\"",
		         OFFICE_SKILLS_MAX);
		jv_fail(v, "", "skills", msg);
		return 0;
	}
	buf_puts(out, "{");
	json_array_foreach(m, i, s)
	{
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
	    "SELECT count(*) AS unknown FROM unnest($1::text[]) k "
	    "WHERE k <> '*' AND NOT EXISTS (SELECT 1 FROM service s WHERE s.code = k OR s.department = k)";
	const char *p[] = {skills};
	PGresult *res = db_exec(sql, 1, p, st);
	int n = *st == DB_OK ? (int)db_col_ll(res, 0, "unknown") : 0;
	PQclear(res);
	return n;
}

/* ---- agents ---- */

/* One agent as JSON, from agent a joined with its zone z, with the days from today (in the
 * district's time zone; `now` is the parameter named) on which the agent is off. */
#define OFFICE_AGENT_JSON(now)                                                                                         \
	"jsonb_build_object('code', a.code, 'name', a.name, 'phone', a.phone, 'zone', z.code, "                        \
	"  'base', jsonb_build_object('lat', ST_Y(a.base::geometry), 'lon', ST_X(a.base::geometry)), "                 \
	"  'skills', to_jsonb(a.skills), 'active', a.active, "                                                         \
	"  'unavailable', coalesce((SELECT jsonb_agg(jsonb_build_object('date', u.day, 'reason', u.reason) "           \
	"                                            ORDER BY u.day) FROM agent_unavailable u JOIN district d "        \
	"                             ON d.id = u.district_id WHERE u.agent_id = a.id "                                \
	"                               AND u.day >= (" now "::timestamptz AT TIME ZONE d.time_zone)::date), '[]'))"

static const char office_q_agent_json[] =
    "SELECT " OFFICE_AGENT_JSON("$2") "::text FROM agent a JOIN zone z ON z.id = a.zone_id WHERE a.id = $1";

void office_agents_list(struct http_req *r)
{
	static const char sql[] = "SELECT coalesce(jsonb_agg(" OFFICE_AGENT_JSON(
	    "$3") " ORDER BY a.code), '[]')::text "
	          "FROM agent a JOIN zone z ON z.id = a.zone_id "
	          "WHERE ($1::int = 0 OR a.district_id = $1::int) AND ($2::text IS NULL OR z.code = $2)";
	struct db_args a = {0};
	char zone[20], now[40];
	int has_zone = http_query(r, "zone", zone, sizeof zone);
	if (has_zone < 0) {
		http_error_field(r, "zone", "is not a zone code");
		return;
	}
	clock_now_text(now, sizeof now);
	db_arg_ll(&a, r->auth.district_id);
	db_arg_text(&a, has_zone ? zone : NULL);
	db_arg_text(&a, now);
	http_reply_query(r, sql, a.n, a.v);
}

/* An agent's body: on creation name, phone, zone and base are required and skills default
 * to '*'; on update every member is optional, and `active` may be given. */
struct office_agent_body {
	const char *name, *phone, *zone;
	double lat, lon;
	json_t *base;   /* NULL when not given */
	json_t *active; /* NULL when not given */
	int has_skills;
	buf_t skills; /* a PostgreSQL array literal; the caller buf_free()s it */
};

/* Checks the body into *b, then that every skill names a service or a department. 0 when
 * it holds; -1 when it replied. */
static int office_agent_body_or_reply(struct http_req *r, int create, struct office_agent_body *b)
{
	const struct jv_field loc[] = {
	    JV_NUM("lat", 1, -90, 90, &b->lat, NULL),
	    JV_NUM("lon", 1, -180, 180, &b->lon, NULL),
	    JV_END,
	};
	const struct jv_field fields[] = {
	    JV_STR("name", create, 1, 100, &b->name),
	    JV_STR_OK("phone", create, 9, 16, account_phone_valid, ACCOUNT_PHONE_FORMAT, &b->phone),
	    JV_STR("zone", create, 2, 16, &b->zone),
	    JV_OBJ("base", create, loc, &b->base),
	    OFFICE_JV_BY_HAND("skills"),
	    /* An agent is created active. */
	    create ? (struct jv_field)JV_END : (struct jv_field)OFFICE_JV_BY_HAND("active"),
	    JV_END,
	};
	struct jv v = {0};
	enum db_status st = DB_OK;

	buf_init(&b->skills, 4096);
	jv_check(&v, r->json, "", fields);
	b->has_skills = office_skills(&v, r->json, &b->skills);
	if (create && !b->has_skills && !v.failed) {
		buf_puts(&b->skills, "{*}");
		b->has_skills = 1;
	}
	b->active = v.failed || create ? NULL : json_object_get(r->json, "active");
	if (b->active && !json_is_boolean(b->active))
		jv_fail(&v, "", "active", "must be true or false");
	if (v.failed) {
		jv_reply(r, &v);
		return -1;
	}
	if (!b->has_skills)
		return 0;
	int unknown = office_unknown_skills(b->skills.data, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		return -1;
	}
	if (unknown != 0) {
		http_error_field(r, "skills", "names no known service code or department");
		return -1;
	}
	return 0;
}

/* The agent `id` as JSON (office_q_agent_json) into *res; the caller PQclear()s it. */
static enum db_status office_agent_json(const char *id, PGresult **res)
{
	struct db_args a = {0};
	enum db_status st;
	char now[40];
	clock_now_text(now, sizeof now);
	db_arg_text(&a, id);
	db_arg_text(&a, now);
	*res = db_exec(office_q_agent_json, a.n, a.v, &st);
	return st;
}

void office_agent_create(struct http_req *r)
{
	static const char q_insert[] =
	    "INSERT INTO agent (code, password_hash, name, phone, district_id, zone_id, base, skills) "
	    "SELECT d.code || '-A' || lpad((coalesce((SELECT max(substring(a.code FROM '-A([0-9]+)$')::int) FROM agent "
	    "a "
	    "                                          WHERE a.district_id = d.id), 0) + 1)::text, 2, '0'), "
	    "       $1, $2, $3, d.id, $4, ST_SetSRID(ST_MakePoint($6, $5), 4326)::geography, $7::text[] "
	    "FROM district d WHERE d.id = $8 RETURNING id, code";
	struct office_agent_body b = {0};
	struct db_args a = {0};
	char hash[160], password[17], detail[160];
	unsigned char raw[OFFICE_PASSWORD_BYTES];
	enum db_status st = DB_OK;
	PGresult *zone = NULL, *res = NULL, *j = NULL;

	if (office_agent_body_or_reply(r, 1, &b) != 0)
		goto out;
	if (office_zone_find_or_reply(r, b.zone, "zone", &zone) != 0)
		goto out;
	if (crypto_random(raw, sizeof raw) != 0) {
		http_error(r, 500, "internal_error", "no randomness available");
		goto out;
	}
	crypto_base64url(raw, sizeof raw, password);
	if (crypto_password_hash(password, CRYPTO_PBKDF2_ITERATIONS, hash, sizeof hash) != 0) {
		http_error(r, 500, "internal_error", "the password could not be hashed");
		goto out;
	}
	db_arg_text(&a, hash);
	db_arg_text(&a, b.name);
	db_arg_text(&a, b.phone);
	db_arg_text(&a, db_col(zone, 0, "id"));
	db_arg_double(&a, b.lat);
	db_arg_double(&a, b.lon);
	db_arg_text(&a, b.skills.data);
	db_arg_text(&a, db_col(zone, 0, "district_id"));
	/* The zone was found by this code, so it is safe inside the JSON text. */
	snprintf(detail, sizeof detail, "{\"zone\": \"%s\"}", b.zone);
	for (int i = 0; i < OFFICE_CODE_TRIES; i++) {
		PQclear(res);
		res = NULL;
		st = db_begin();
		if (st != DB_OK)
			break;
		res = db_exec(q_insert, a.n, a.v, &st);
		if (st == DB_OK)
			st = audit_request(r, db_col(zone, 0, "district_id"), "agent.created", "agent",
			                   db_col(res, 0, "code"), detail);
		if (st == DB_OK)
			st = db_commit();
		if (st == DB_OK)
			break;
		db_rollback();
		if (st != DB_UNIQUE)
			break;
	}
	if (st == DB_OK)
		st = office_agent_json(db_col(res, 0, "id"), &j);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	json_t *body = json_loads(db_get(j, 0, 0), 0, NULL);
	json_object_set_new(body, "password", json_string(password));
	http_reply_json(r, 201, body);
out:
	PQclear(zone);
	PQclear(res);
	PQclear(j);
	buf_free(&b.skills);
}

void office_agent_update(struct http_req *r)
{
	/* Visits still to come hold units of the agent's windows: the agent cannot leave the
	 * zone or stop working while any are held. */
	static const char q_future[] = "SELECT count(*) AS visits FROM booking "
	                               "WHERE agent_id = $1 AND window_end > $2 AND status IN ('booked', 'assigned')";
	static const char q_update[] =
	    "UPDATE agent SET name = coalesce($2, name), phone = coalesce($3, phone), zone_id = coalesce($4::int, "
	    "zone_id), "
	    "  base = coalesce(ST_SetSRID(ST_MakePoint($6::float8, $5::float8), 4326)::geography, base), "
	    "  skills = coalesce($7::text[], skills), active = coalesce($8::boolean, active) WHERE id = $1";
	/* After a zone change the future windows follow the agent's new zone's templates. */
	static const char q_rewindow[] =
	    "WITH del AS (DELETE FROM agent_window WHERE agent_id = $1 AND starts_at > $2 AND booked = 0 RETURNING 1) "
	    "SELECT agent_windows_materialize(($2::timestamptz AT TIME ZONE 'UTC')::date, "
	    "                                 ($2::timestamptz AT TIME ZONE 'UTC')::date + 400) FROM (SELECT count(*) "
	    "FROM del) x";
	struct office_agent_body b = {0};
	struct db_args up = {0}, now_args = {0};
	char now[40];
	enum db_status st = DB_OK;
	PGresult *agent = NULL, *zone = NULL, *res = NULL;

	if (office_agent_body_or_reply(r, 0, &b) != 0)
		goto out;
	if (b.zone && office_zone_find_or_reply(r, b.zone, "zone", &zone) != 0)
		goto out;
	if (office_agent_lock_or_reply(r, &agent) != 0)
		goto out;
	clock_now_text(now, sizeof now);
	db_arg_text(&now_args, db_col(agent, 0, "id"));
	db_arg_text(&now_args, now);
	int moves_zone = b.zone && strcmp(b.zone, db_col(agent, 0, "zone")) != 0;
	if (moves_zone || (b.active && json_is_false(b.active))) {
		res = db_exec(q_future, now_args.n, now_args.v, &st);
		if (st != DB_OK) {
			http_error_db(r, st);
			goto out;
		}
		if (db_col_ll(res, 0, "visits") > 0) {
			http_error(r, 409, "agent_has_visits",
			           "the agent holds %lld visits still to come; mark them unavailable for those days or "
			           "reassign the visits first",
			           db_col_ll(res, 0, "visits"));
			goto out;
		}
	}
	db_arg_text(&up, db_col(agent, 0, "id"));
	db_arg_text(&up, b.name);
	db_arg_text(&up, b.phone);
	db_arg_text(&up, zone ? db_col(zone, 0, "id") : NULL);
	if (b.base) {
		db_arg_double(&up, b.lat);
		db_arg_double(&up, b.lon);
	} else {
		db_arg_text(&up, NULL);
		db_arg_text(&up, NULL);
	}
	db_arg_text(&up, b.has_skills ? b.skills.data : NULL);
	if (b.active)
		db_arg_bool(&up, json_is_true(b.active));
	else
		db_arg_text(&up, NULL);
	st = db_run(q_update, up.n, up.v);
	if (st == DB_OK && moves_zone)
		st = db_run(q_rewindow, now_args.n, now_args.v);
	if (st == DB_OK)
		st = audit_request(r, db_col(agent, 0, "district_id"), "agent.updated", "agent", r->params[0], r->body);
	if (st == DB_OK)
		st = db_commit();
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	http_reply_query(r, office_q_agent_json, now_args.n, now_args.v);
out:
	PQclear(agent);
	PQclear(zone);
	PQclear(res);
	buf_free(&b.skills);
}
