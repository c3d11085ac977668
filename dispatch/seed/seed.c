#include "seed/seed.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "migrate.h"
#include "util.h"
#include "booking/tracking.h"
#include "booking/visit.h"

#define SEED_SHIFT_DAYS 14

struct seed_account {
	const char *login;
	const char *role;
	const char *name;
	const char *phone; /* for SLA and grievance messages; NULL = none */
	const char *language;
};

/* In this order in demo-accounts.json, so that the first account of each role is the one
 * tests and the README use. The grievance authorities of RPR: the nodal officer
 * answers tier 1, the appellate officer tier 2, the committee chair tier 3. */
static const struct seed_account seed_staff[] = {
    {"operator", "operator", "Call-centre operator (demo)", NULL, "hi"},
    {"officer", "officer", "Nodal officer, Raipur (demo)", "+919826000001", "hi"},
    {"committee", "committee", "District committee chair (demo)", "+919826000003", "hi"},
    {"admin", "admin", "Administrator (demo)", NULL, "en"},
    {"appellate", "officer", "Appellate authority, Raipur (demo)", "+919826000002", "en"},
};

static int seed_random_password(char out[17])
{
	unsigned char raw[12];
	if (crypto_random(raw, sizeof raw) != 0)
		return -1;
	crypto_base64url(raw, sizeof raw, out);
	return 0;
}

/* Passwords from an earlier demo-accounts.json, so a second `make run` keeps them. */
static const char *seed_known_password(json_t *known, const char *login)
{
	size_t i;
	json_t *a;
	json_array_foreach(known, i, a)
	{
		const char *l = json_string_value(json_object_get(a, "login"));
		const char *p = json_string_value(json_object_get(a, "password"));
		if (l && p && strcmp(l, login) == 0)
			return p;
	}
	return NULL;
}

/* Sets the password of one account unless it already verifies (hashing costs ~0.3 s). */
static int seed_password(const char *kind, const char *login, const char *password, const char *current)
{
	static const char q_staff[] = "UPDATE staff SET password_hash = $2 WHERE login = $1";
	static const char q_agent[] = "UPDATE agent SET password_hash = $2 WHERE code = $1";
	char hash[160];
	if (current && crypto_password_verify(password, current))
		return 0;
	if (crypto_password_hash(password, CRYPTO_PBKDF2_ITERATIONS, hash, sizeof hash) != 0)
		return -1;
	const char *p[] = {login, hash};
	return db_run(strcmp(kind, "agent") == 0 ? q_agent : q_staff, 2, p) == DB_OK ? 0 : -1;
}

/* Writes a JSON document whole, then renames it into place, readable by the owner only:
 * the demo files hold passwords and visit codes. */
static int seed_write_private_json(json_t *doc, const char *path)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	mode_t old = umask(077);
	int dumped = json_dump_file(doc, tmp, JSON_INDENT(2));
	umask(old);
	if (dumped != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "mitan: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

static int seed_demo_accounts(const char *data_dir)
{
	/* A demo account made by an earlier seed keeps its name and language; it gets a phone
	 * when it had none. */
	static const char q_staff[] =
	    "INSERT INTO staff (login, password_hash, role, name, district_id, phone, language) "
	    "SELECT $1, '!', $2, $3, id, $4, $5 FROM district WHERE code = 'RPR' "
	    "ON CONFLICT (login) DO UPDATE SET phone = coalesce(staff.phone, EXCLUDED.phone)";
	static const char q_authority[] =
	    "INSERT INTO grievance_authority (district_id, tier, staff_id) "
	    "SELECT s.district_id, v.tier, s.id FROM (VALUES (1, 'officer'), (2, 'appellate'), (3, 'committee')) "
	    "  AS v(tier, login) JOIN staff s ON s.login = v.login WHERE s.district_id IS NOT NULL "
	    "ON CONFLICT (district_id, tier) DO NOTHING";
	static const char q_list[] =
	    "SELECT * FROM (SELECT 'staff' AS kind, login, role, password_hash, name FROM staff "
	    "                WHERE login = ANY($1::text[]) "
	    "               UNION ALL SELECT 'agent', code, 'agent', password_hash, name FROM agent "
	    "                WHERE code LIKE 'RPR-A%') a "
	    "ORDER BY kind DESC, array_position($1::text[], login), login";
	char path[4096], password[17];
	json_error_t jerr;
	json_t *known, *out = json_array();
	PGresult *res = NULL;
	enum db_status st;
	int rc = -1;

	snprintf(path, sizeof path, "%s/demo-accounts.json", data_dir);
	known = json_load_file(path, 0, &jerr);
	if (!json_is_array(known)) {
		json_decref(known);
		known = json_array();
	}
	for (size_t i = 0; i < sizeof seed_staff / sizeof seed_staff[0]; i++) {
		const char *p[] = {seed_staff[i].login, seed_staff[i].role, seed_staff[i].name, seed_staff[i].phone,
		                   seed_staff[i].language};
		if (db_run(q_staff, 5, p) != DB_OK)
			goto out;
	}
	if (db_run(q_authority, 0, NULL) != DB_OK)
		goto out;
	const char *lp[] = {"{operator,officer,committee,admin,appellate}"};
	res = db_exec(q_list, 1, lp, &st);
	if (st != DB_OK)
		goto out;
	fprintf(stderr, "seed: demo accounts (%d; new passwords take a moment to hash)\n", PQntuples(res));
	for (int i = 0; i < PQntuples(res); i++) {
		const char *login = db_get(res, i, 1);
		const char *pw = seed_known_password(known, login);
		if (!pw) {
			if (seed_random_password(password) != 0)
				goto out;
			pw = password;
		}
		if (seed_password(db_get(res, i, 0), login, pw, db_get(res, i, 3)) != 0)
			goto out;
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s}", "login", login, "password", pw, "role",
		                                     db_get(res, i, 2), "name", db_get(res, i, 4)));
	}
	if (seed_write_private_json(out, path) != 0)
		goto out;
	fprintf(stderr, "seed: demo accounts (also in %s):\n", path);
	for (size_t i = 0; i < json_array_size(out); i++) {
		json_t *a = json_array_get(out, i);
		fprintf(stderr, "    %-10s %-18s %s\n", json_string_value(json_object_get(a, "login")),
		        json_string_value(json_object_get(a, "password")),
		        json_string_value(json_object_get(a, "role")));
	}
	rc = 0;
out:
	PQclear(res);
	json_decref(known);
	json_decref(out);
	return rc;
}

static int seed_demo_shifts(void)
{
	/* Shifts 09:00–18:00 local with 3 visits per window, today and the next 13 days,
	 * then the capacity ledger for those days. Existing shifts and windows are kept. */
	static const char q_shifts[] = "INSERT INTO agent_shift (agent_id, day, start_local, end_local, per_window) "
	                               "SELECT a.id, day::date, '09:00', '18:00', 3 "
	                               "  FROM agent a JOIN district d ON d.id = a.district_id, "
	                               "       generate_series(($1::timestamptz AT TIME ZONE d.time_zone)::date, "
	                               "                       ($1::timestamptz AT TIME ZONE d.time_zone)::date + "
	                               "$2::int - 1, interval '1 day') day "
	                               " WHERE a.code LIKE 'RPR-A%' "
	                               "ON CONFLICT (agent_id, day) DO NOTHING";
	static const char q_windows[] =
	    "SELECT agent_windows_materialize(min(($1::timestamptz AT TIME ZONE d.time_zone)::date) - 1, "
	    "                                 max(($1::timestamptz AT TIME ZONE d.time_zone)::date) + $2::int) "
	    "FROM district d";
	char now[40], days[8];
	enum db_status st;
	clock_now_text(now, sizeof now);
	snprintf(days, sizeof days, "%d", SEED_SHIFT_DAYS);
	const char *p[] = {now, days};
	if (db_run(q_shifts, 2, p) != DB_OK)
		return -1;
	PGresult *res = db_exec(q_windows, 2, p, &st);
	if (st == DB_OK)
		fprintf(stderr, "seed: %s new agent windows for the next %d days\n", db_get(res, 0, 0),
		        SEED_SHIFT_DAYS);
	PQclear(res);
	return st == DB_OK ? 0 : -1;
}

/* Demo visits so that the agent app has a route right after `make run`: every demo agent
 * gets one visit in each of the 09:00, 11:00 and 14:00 windows of today and tomorrow (local),
 * each taking its unit from the agent_window ledger like a real booking. Today's are
 * `assigned` with a visit code (as if the visit-day SMS had gone out); tomorrow's are
 * `booked`. A re-seed adds only what is missing and gives today's visits that have not
 * begun new codes. The codes are written to <data>/demo-visits.json (mode 0600). */
static int seed_demo_visits(const char *data_dir)
{
	static const char q_missing[] =
	    "SELECT a.id, w.starts_at, "
	    "       (w.starts_at AT TIME ZONE d.time_zone)::date = ($1::timestamptz AT TIME ZONE d.time_zone)::date, "
	    "       (SELECT s.code FROM service s WHERE s.active AND a.skills && ARRAY[s.code, s.department, '*'] "
	    "         ORDER BY s.position, s.code OFFSET (a.id * 3 + extract(hour FROM w.starts_at AT TIME ZONE "
	    "d.time_zone)::int) % 7 "
	    "         LIMIT 1), "
	    "       ST_Y(a.base::geometry) + 0.002 * (extract(hour FROM w.starts_at AT TIME ZONE d.time_zone)::int % 3 "
	    "- 1), "
	    "       ST_X(a.base::geometry) + 0.003 * (extract(day FROM w.starts_at AT TIME ZONE d.time_zone)::int % "
	    "2), "
	    "       format('+9190%s%s%s', lpad(a.id::text, 4, '0'), "
	    "              (w.starts_at AT TIME ZONE d.time_zone)::date - ($1::timestamptz AT TIME ZONE "
	    "d.time_zone)::date, "
	    "              extract(hour FROM w.starts_at AT TIME ZONE d.time_zone)::int % 10), "
	    "       (ARRAY['Kamla Devi', 'Ramesh Kumar Sahu', 'Shanti Bai', 'Mohammad Iqbal', 'Sarita Verma', "
	    "              'Hari Prasad Dewangan', 'Anita Tandon', 'Bhagwati Nishad', 'Gurpreet Kaur'])[1 + (a.id * 5 "
	    "+ "
	    "              extract(hour FROM w.starts_at AT TIME ZONE d.time_zone)::int) % 9], "
	    "       format('House %s, Ward %s, %s, Raipur', 10 + (a.id * 7) % 90, 1 + a.id % 70, z.name_en) "
	    "FROM agent a JOIN district d ON d.id = a.district_id JOIN zone z ON z.id = a.zone_id "
	    "JOIN agent_window w ON w.agent_id = a.id "
	    "WHERE a.code LIKE 'RPR-A%' AND a.active "
	    "  AND w.starts_at >= (($1::timestamptz AT TIME ZONE d.time_zone)::date)::timestamp AT TIME ZONE "
	    "d.time_zone "
	    "  AND w.starts_at < (($1::timestamptz AT TIME ZONE d.time_zone)::date + 2)::timestamp AT TIME ZONE "
	    "d.time_zone "
	    "  AND extract(hour FROM w.starts_at AT TIME ZONE d.time_zone) IN (9, 11, 14) AND w.booked < w.capacity "
	    "  AND NOT EXISTS (SELECT 1 FROM booking b WHERE b.agent_id = a.id AND b.window_start = w.starts_at "
	    "                                           AND b.created_by_role = 'seed') "
	    "ORDER BY a.code, w.starts_at";
	/* The unit, the beneficiary (living in the district) and the booking, in one statement;
	 * then its first event through the one event writer. */
	static const char q_insert[] =
	    "WITH u AS (UPDATE agent_window SET booked = booked + 1 "
	    "            WHERE agent_id = $1 AND starts_at = $2 AND booked < capacity "
	    "            RETURNING agent_id, starts_at, ends_at, zone_id, district_id), "
	    "p AS (INSERT INTO person (phone, name, language, time_zone, created_at) "
	    "      SELECT $3, $4, 'hi', d.time_zone, $5 FROM u JOIN district d ON d.id = u.district_id "
	    "      ON CONFLICT (phone) DO UPDATE SET phone = EXCLUDED.phone RETURNING id), "
	    "b AS (INSERT INTO booking (district_id, reference, tracking_hash, service_code, booker_id, "
	    "beneficiary_id, "
	    "        beneficiary_name, beneficiary_language, address, location, zone_id, window_start, window_end, "
	    "        agent_id, status, fee_paise, visit_code_hash, created_by_role, created_by_id, created_at, "
	    "updated_at) "
	    "      SELECT u.district_id, $6, decode($7, 'hex'), s.code, p.id, p.id, $4, 'hi', $8, "
	    "             ST_SetSRID(ST_MakePoint($10, $9), 4326), u.zone_id, u.starts_at, u.ends_at, u.agent_id, $11, "
	    "             s.fee_paise, decode($12, 'hex'), 'seed', 0, $5, $5 "
	    "        FROM u, p, service s WHERE s.code = $13 RETURNING id) "
	    "SELECT id FROM b";
	static const char q_event[] =
	    "SELECT booking_change_record($1, 'created', NULL, $2, 'seed', NULL, $3, 'demo visit', NULL, NULL)";
	/* Today's demo visits that have not begun: they get a fresh code. */
	static const char q_recode[] =
	    "SELECT b.reference FROM booking b JOIN district d ON d.id = b.district_id "
	    "WHERE b.created_by_role = 'seed' AND b.status = 'assigned' "
	    "  AND (b.window_start AT TIME ZONE d.time_zone)::date = ($1::timestamptz AT TIME ZONE d.time_zone)::date";
	static const char q_code[] = "UPDATE booking SET visit_code_hash = decode($2, 'hex') WHERE reference = $1";
	static const char q_list[] =
	    "SELECT a.code, b.reference, b.status, window_label(b.window_start, b.window_end, d.time_zone, 'en'), "
	    "       b.beneficiary_name, p.phone "
	    "FROM booking b JOIN agent a ON a.id = b.agent_id JOIN district d ON d.id = b.district_id "
	    "JOIN person p ON p.id = b.beneficiary_id "
	    "WHERE b.created_by_role = 'seed' "
	    "  AND b.window_start >= (($1::timestamptz AT TIME ZONE d.time_zone)::date)::timestamp AT TIME ZONE "
	    "d.time_zone "
	    "  AND b.window_start < (($1::timestamptz AT TIME ZONE d.time_zone)::date + 2)::timestamp AT TIME ZONE "
	    "d.time_zone "
	    "ORDER BY a.code, b.window_start";
	char now[40], reference[18], code[VISIT_CODE_DIGITS + 1], code_hash[65], token[TRACKING_TOKEN_LEN + 1],
	    tracking[65];
	char path[4096];
	enum db_status st;
	PGresult *res = NULL, *list = NULL;
	json_t *codes = json_object(), *out = json_array();
	int rc = -1, made = 0;

	clock_now_text(now, sizeof now);
	const char *np[] = {now};
	res = db_exec(q_missing, 1, np, &st);
	if (st != DB_OK)
		goto out;
	for (int i = 0; i < PQntuples(res); i++) {
		int today = db_get(res, i, 2)[0] == 't';
		if (crypto_reference(reference) != 0 || visit_code_new(reference, code, code_hash) != 0)
			goto out;
		tracking_token(reference, token, tracking);
		const char *p[] = {db_get(res, i, 0),
		                   db_get(res, i, 1),
		                   db_get(res, i, 6),
		                   db_get(res, i, 7),
		                   now,
		                   reference,
		                   tracking,
		                   db_get(res, i, 8),
		                   db_get(res, i, 4),
		                   db_get(res, i, 5),
		                   today ? "assigned" : "booked",
		                   today ? code_hash : NULL,
		                   db_get(res, i, 3)};
		PGresult *ins = db_exec(q_insert, 13, p, &st);
		const char *ep[] = {st == DB_OK && PQntuples(ins) == 1 ? db_get(ins, 0, 0) : NULL, p[10], now};
		if (ep[0]) { /* none when the unit was taken meanwhile */
			st = db_run(q_event, 3, ep);
			made++;
		}
		PQclear(ins);
		if (st != DB_OK)
			goto out;
	}
	PQclear(res);
	res = db_exec(q_recode, 1, np, &st);
	if (st != DB_OK)
		goto out;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *ref = db_get(res, i, 0);
		if (visit_code_new(ref, code, code_hash) != 0)
			goto out;
		const char *p[] = {ref, code_hash};
		if (db_run(q_code, 2, p) != DB_OK)
			goto out;
		json_object_set_new(codes, ref, json_string(code));
	}
	list = db_exec(q_list, 1, np, &st);
	if (st != DB_OK)
		goto out;
	for (int i = 0; i < PQntuples(list); i++) {
		json_t *c = json_object_get(codes, db_get(list, i, 1));
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O?}", "agent",
		                                     db_get(list, i, 0), "reference", db_get(list, i, 1), "status",
		                                     db_get(list, i, 2), "window", db_get(list, i, 3), "beneficiary",
		                                     db_get(list, i, 4), "phone", db_get(list, i, 5), "visit_code", c));
	}
	snprintf(path, sizeof path, "%s/demo-visits.json", data_dir);
	if (seed_write_private_json(out, path) != 0)
		goto out;
	fprintf(stderr, "seed: %d new demo visits; today's and tomorrow's (%zu) with today's visit codes in %s\n", made,
	        json_array_size(out), path);
	rc = 0;
out:
	PQclear(res);
	PQclear(list);
	json_decref(codes);
	json_decref(out);
	return rc;
}

/* The district's past weeks (sql/seed/demo_history.sql, written once: a second seed finds
 * it and adds nothing), relative to the application clock, in the seed's transaction. The
 * SQL cannot derive tracking tokens (they need the installation secret): its bookings come
 * with a placeholder hash, replaced here by the real one, and the tracking link goes into
 * the messages that carry it. */
static int seed_demo_history(const char *sql_dir)
{
	static const char q_now[] = "SELECT set_config('mitan.seed_now', $1, true)";
	static const char q_made[] =
	    "SELECT current_setting('mitan.seed_history', true), "
	    "       (SELECT count(*) FROM booking_event e JOIN district d ON d.id = e.district_id "
	    "         WHERE d.code = 'RPR' AND e.action = 'created' AND e.note = 'demo history')";
	static const char q_placeholders[] =
	    "SELECT b.id, b.reference FROM booking b JOIN district d ON d.id = b.district_id "
	    "WHERE d.code = 'RPR' AND b.tracking_hash = sha256(convert_to('demo history ' || b.reference, 'UTF8')) "
	    "ORDER BY b.id";
	static const char q_track[] =
	    "WITH b AS (UPDATE booking SET tracking_hash = decode($2, 'hex') WHERE id = $1 RETURNING id) "
	    "UPDATE sms_outbox o SET variables = o.variables || jsonb_build_object('url', $3::text), "
	    "       body = CASE WHEN o.body = '' THEN '' "
	    "                   ELSE sms_render(t.body, o.variables || jsonb_build_object('url', $3::text)) END "
	    "  FROM b, sms_template t "
	    " WHERE o.booking_id = b.id AND o.staff_id IS NULL AND t.code = o.template AND t.language = o.language "
	    "   AND t.body LIKE '%{#url#}%' AND o.template <> 'reassigned'";
	char path[4096], now[40], token[TRACKING_TOKEN_LEN + 1], hash[65], url[400];
	enum db_status st;
	PGresult *res;

	clock_now_text(now, sizeof now);
	const char *np[] = {now};
	if (db_run(q_now, 1, np) != DB_OK)
		return -1;
	snprintf(path, sizeof path, "%s/seed/demo_history.sql", sql_dir);
	fprintf(stderr, "seed: %s\n", path);
	if (migrate_file_tx(path, 0) != 0)
		return -1;
	res = db_exec(q_placeholders, 0, NULL, &st);
	if (st != DB_OK)
		return -1;
	for (int i = 0; i < PQntuples(res) && st == DB_OK; i++) {
		tracking_token(db_get(res, i, 1), token, hash);
		tracking_url(db_get(res, i, 1), url, sizeof url);
		const char *p[] = {db_get(res, i, 0), hash, url};
		st = db_run(q_track, 3, p);
	}
	PQclear(res);
	if (st != DB_OK)
		return -1;
	res = db_exec(q_made, 0, NULL, &st);
	if (st != DB_OK)
		return -1;
	const char *made = db_get(res, 0, 0);
	if (made && strcmp(made, "0") != 0)
		fprintf(stderr,
		        "seed: demo history written: %s bookings of the past weeks, with their events, messages, "
		        "SLA alerts and grievances\n",
		        made);
	else
		fprintf(stderr, "seed: demo history already there (%s bookings), kept as it is\n", db_get(res, 0, 1));
	PQclear(res);
	return 0;
}

int seed_run(const char *sql_dir, const char *data_dir, int demo)
{
	static const char *const files[] = {"catalogue.sql", "sms_templates.sql"};
	char path[4096];
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/seed/%s", sql_dir, files[i]);
		fprintf(stderr, "seed: %s\n", path);
		if (migrate_file(path) != 0)
			return -1;
	}
	if (!demo)
		return 0;
	snprintf(path, sizeof path, "%s/seed/demo_raipur.sql", sql_dir);
	fprintf(stderr, "seed: %s\n", path);
	if (migrate_file(path) != 0)
		return -1;
	if (db_begin() != DB_OK || seed_demo_shifts() != 0 || seed_demo_accounts(data_dir) != 0 ||
	    seed_demo_visits(data_dir) != 0 || seed_demo_history(sql_dir) != 0 || db_commit() != DB_OK) {
		db_rollback();
		fprintf(stderr, "mitan: seeding the demo city failed; nothing of it was kept\n");
		return -1;
	}
	return 0;
}
