#include "seed.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "crypto.h"
#include "db.h"
#include "migrate.h"
#include "util.h"

#define SEED_SHIFT_DAYS 14

struct seed_account {
	const char *login;
	const char *role;
	const char *name;
};

static const struct seed_account seed_staff[] = {
	{ "operator", "operator", "Call-centre operator (demo)" },
	{ "officer", "officer", "Nodal officer, Raipur (demo)" },
	{ "committee", "committee", "District committee member (demo)" },
	{ "admin", "admin", "Administrator (demo)" },
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
	json_array_foreach(known, i, a) {
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
	const char *p[] = { login, hash };
	return db_run(strcmp(kind, "agent") == 0 ? q_agent : q_staff, 2, p) == DB_OK ? 0 : -1;
}

static int seed_demo_accounts(const char *data_dir)
{
	static const char q_staff[] =
		"INSERT INTO staff (login, password_hash, role, name, district_id) "
		"SELECT $1, '!', $2, $3, id FROM district WHERE code = 'RPR' ON CONFLICT (login) DO NOTHING";
	static const char q_list[] =
		"SELECT 'staff', login, role, password_hash, name FROM staff WHERE login = ANY($1::text[]) "
		"UNION ALL SELECT 'agent', code, 'agent', password_hash, name FROM agent WHERE code LIKE 'RPR-A%' "
		"ORDER BY 1 DESC, 2";
	char path[4096], tmp[4200], password[17];
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
		const char *p[] = { seed_staff[i].login, seed_staff[i].role, seed_staff[i].name };
		if (db_run(q_staff, 3, p) != DB_OK)
			goto out;
	}
	const char *lp[] = { "{operator,officer,committee,admin}" };
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
	/* Written whole, then renamed, readable by the owner only: it holds passwords. */
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	mode_t old = umask(077);
	int dumped = json_dump_file(out, tmp, JSON_INDENT(2));
	umask(old);
	if (dumped != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "mitan: cannot write %s\n", path);
		goto out;
	}
	fprintf(stderr, "seed: demo accounts (also in %s):\n", path);
	for (size_t i = 0; i < json_array_size(out); i++) {
		json_t *a = json_array_get(out, i);
		fprintf(stderr, "    %-10s %-18s %s\n", json_string_value(json_object_get(a, "login")),
			json_string_value(json_object_get(a, "password")), json_string_value(json_object_get(a, "role")));
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
	static const char q_shifts[] =
		"INSERT INTO agent_shift (agent_id, day, start_local, end_local, per_window) "
		"SELECT a.id, day::date, '09:00', '18:00', 3 "
		"  FROM agent a JOIN district d ON d.id = a.district_id, "
		"       generate_series(($1::timestamptz AT TIME ZONE d.time_zone)::date, "
		"                       ($1::timestamptz AT TIME ZONE d.time_zone)::date + $2::int - 1, interval '1 day') day "
		" WHERE a.code LIKE 'RPR-A%' "
		"ON CONFLICT (agent_id, day) DO NOTHING";
	static const char q_windows[] =
		"SELECT agent_windows_materialize(($1::timestamptz AT TIME ZONE 'Asia/Kolkata')::date - 1, "
		"                                 ($1::timestamptz AT TIME ZONE 'Asia/Kolkata')::date + $2::int)";
	char now[40], days[8];
	enum db_status st;
	clock_now_text(now, sizeof now);
	snprintf(days, sizeof days, "%d", SEED_SHIFT_DAYS);
	const char *p[] = { now, days };
	if (db_run(q_shifts, 2, p) != DB_OK)
		return -1;
	PGresult *res = db_exec(q_windows, 2, p, &st);
	if (st == DB_OK)
		fprintf(stderr, "seed: %s new agent windows for the next %d days\n", db_get(res, 0, 0), SEED_SHIFT_DAYS);
	PQclear(res);
	return st == DB_OK ? 0 : -1;
}

int seed_run(const char *sql_dir, const char *data_dir, int demo)
{
	static const char *const files[] = { "catalogue.sql", "sms_templates.sql" };
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
	    db_commit() != DB_OK) {
		db_rollback();
		fprintf(stderr, "mitan: seeding the demo city failed; nothing of it was kept\n");
		return -1;
	}
	return 0;
}
