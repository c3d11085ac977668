#include "migrate.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "util.h"

static char *migrate_slurp(const char *path)
{
	buf_t b;
	char chunk[8192];
	size_t n;
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	buf_init(&b, 64u << 20);
	for (;;) {
		n = fread(chunk, 1, sizeof chunk, f);
		if (n == 0)
			break;
		if (buf_append(&b, chunk, n) != 0) {
			buf_free(&b);
			fclose(f);
			return NULL;
		}
	}
	fclose(f);
	if (!b.data)
		buf_append(&b, "", 0);
	return b.data;
}

int migrate_file(const char *path)
{
	return migrate_file_tx(path, 1);
}

int migrate_file_tx(const char *path, int own_tx)
{
	int rc = -1;
	char *sql = migrate_slurp(path);
	if (!sql) {
		fprintf(stderr, "mitan: cannot read %s\n", path);
		return -1;
	}
	if (!own_tx) {
		rc = db_script(sql) == DB_OK ? 0 : -1;
		if (rc != 0)
			fprintf(stderr, "mitan: %s failed (see the error above)\n", path);
		goto out;
	}
	if (db_begin() != DB_OK || db_script(sql) != DB_OK || db_commit() != DB_OK) {
		fprintf(stderr, "mitan: %s failed (see the error above); nothing of it was applied\n", path);
		db_rollback();
		goto out;
	}
	rc = 0;
out:
	free(sql);
	return rc;
}

static int migrate_name_ok(const char *name)
{
	size_t n = strlen(name);
	return n > 8 && name[0] >= '0' && name[0] <= '9' && name[1] >= '0' && name[1] <= '9' && name[2] >= '0' &&
	       name[2] <= '9' && name[3] == '_' && strcmp(name + n - 4, ".sql") == 0;
}

static int migrate_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int migrate_run(const char *dir)
{
	static const char create[] = "CREATE TABLE IF NOT EXISTS schema_migration ("
	                             "version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())";
	static const char lock[] = "SELECT pg_advisory_lock(7315000)";
	static const char unlock[] = "SELECT pg_advisory_unlock(7315000)";
	static const char applied[] = "SELECT 1 FROM schema_migration WHERE version = $1";
	static const char record[] = "INSERT INTO schema_migration (version) VALUES ($1)";
	char **names = NULL;
	size_t n = 0, cap = 0, done = 0;
	char path[4096];
	int rc = -1, locked = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		fprintf(stderr, "mitan: cannot open the migrations directory %s\n", dir);
		return -1;
	}
	for (de = readdir(d); de; de = readdir(d)) {
		if (!migrate_name_ok(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xrealloc(names, cap * sizeof *names);
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, migrate_cmp);

	if (db_run(create, 0, NULL) != DB_OK || db_run(lock, 0, NULL) != DB_OK) {
		fprintf(stderr, "mitan: cannot reach the database to migrate\n");
		goto out;
	}
	locked = 1;
	for (size_t i = 0; i < n; i++) {
		enum db_status st;
		const char *p[1] = {names[i]};
		PGresult *res = db_exec(applied, 1, p, &st);
		int is_applied = st == DB_OK && PQntuples(res) == 1;
		PQclear(res);
		if (st != DB_OK)
			goto out;
		if (is_applied)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		char *sql = migrate_slurp(path);
		if (!sql) {
			fprintf(stderr, "mitan: cannot read %s\n", path);
			goto out;
		}
		fprintf(stderr, "migrate: applying %s\n", names[i]);
		int ok = db_begin() == DB_OK && db_script(sql) == DB_OK && db_run(record, 1, p) == DB_OK &&
		         db_commit() == DB_OK;
		free(sql);
		if (!ok) {
			db_rollback();
			fprintf(stderr, "mitan: migration %s failed (see above); it was rolled back\n", names[i]);
			goto out;
		}
		done++;
	}
	fprintf(stderr, "migrate: %zu applied, %zu already in place\n", done, n - done);
	rc = 0;
out:
	if (locked)
		db_run(unlock, 0, NULL);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}
