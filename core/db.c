#include "db.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "util.h"

/* A pooled connection. HTTP threads are many (keep-alive ties a thread to a client), but
 * PostgreSQL does best with a few busy backends per core: a thread takes a connection at
 * its first statement and gives it back in db_release(), after each request or job. */
struct db_conn {
	PGconn *conn;
	const char **prepared; /* SQL texts prepared on this connection, by address */
	size_t nprepared, capprepared;
	int in_use;
};

static struct db_conn *db_pool;
static int db_pool_size;
static pthread_mutex_t db_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t db_pool_free; /* on CLOCK_MONOTONIC, made by db_init */
static char *db_conninfo;
static pthread_t db_owner; /* the thread that called db_init: it closes the pool */

static _Thread_local struct db_conn *db_mine;
static _Thread_local char db_sqlstate[6];
static _Thread_local char db_constraint[64];

/* The caller's connection, taking a free one from the pool; NULL when none came free
 * within cfg.db_wait_ms (or there is no pool): the statement then fails as DB_DOWN, a 503
 * with Retry-After, rather than the request hanging behind requests that hold connections. */
static struct db_conn *db_self(void)
{
	struct timespec until;
	int waited = 0;

	if (db_mine)
		return db_mine;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += cfg.db_wait_ms / 1000;
	until.tv_nsec += (cfg.db_wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&db_pool_lock);
	while (db_pool_size > 0) {
		for (int i = 0; i < db_pool_size; i++) {
			if (!db_pool[i].in_use) {
				db_pool[i].in_use = 1;
				db_mine = &db_pool[i];
				break;
			}
		}
		if (db_mine || waited)
			break;
		/* ETIMEDOUT: one last look, in case a connection came free as the wait ended. */
		waited = pthread_cond_timedwait(&db_pool_free, &db_pool_lock, &until) != 0;
	}
	pthread_mutex_unlock(&db_pool_lock);
	if (!db_mine)
		log_warn("db: no connection came free within %ld ms (db_connections = %ld)", cfg.db_wait_ms,
		         cfg.db_connections);
	return db_mine;
}

static void db_give_back(void)
{
	if (!db_mine)
		return;
	pthread_mutex_lock(&db_pool_lock);
	db_mine->in_use = 0;
	db_mine = NULL;
	pthread_cond_signal(&db_pool_free);
	pthread_mutex_unlock(&db_pool_lock);
}

int db_conninfo_read(char *out, size_t outlen, char *err, size_t errlen)
{
	char path[1024];
	FILE *f;
	int rc = -1;

	if (cfg.database_url[0]) {
		snprintf(out, outlen, "%s", cfg.database_url);
		return 0;
	}
	snprintf(path, sizeof path, "%s/pg/conninfo", cfg.data);
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen,
		         "no database: %s is missing. Start the embedded cluster with `ops/pg.sh start` "
		         "(MITAN_DATA=%s) or set MITAN_DATABASE_URL",
		         path, cfg.data);
		goto out;
	}
	if (!fgets(out, (int)outlen, f)) {
		snprintf(err, errlen, "%s is empty", path);
		goto out;
	}
	out[strcspn(out, "\r\n")] = '\0';
	rc = 0;
out:
	if (f)
		fclose(f);
	return rc;
}

int db_init(char *err, size_t errlen)
{
	char line[1024];

	free(db_conninfo);
	db_conninfo = NULL;
	if (!db_pool) {
		db_pool_size = (int)cfg.db_connections;
		db_pool = xcalloc((size_t)db_pool_size, sizeof *db_pool);
		db_owner = pthread_self();
		/* Waits are measured on the monotonic clock: setting the wall clock neither cuts
		 * them short nor stretches them. */
		pthread_condattr_t attr;
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&db_pool_free, &attr);
		pthread_condattr_destroy(&attr);
	}
	if (db_conninfo_read(line, sizeof line, err, errlen) != 0)
		return -1;
	db_conninfo = xstrdup(line);
	return 0;
}

void db_shutdown(void)
{
	db_release();
	if (!db_pool || !pthread_equal(pthread_self(), db_owner))
		return;
	for (int i = 0; i < db_pool_size; i++) {
		if (db_pool[i].conn)
			PQfinish(db_pool[i].conn);
		free(db_pool[i].prepared);
	}
	free(db_pool);
	db_pool = NULL;
	db_pool_size = 0;
	pthread_cond_destroy(&db_pool_free);
	free(db_conninfo);
	db_conninfo = NULL;
}

static void db_forget(struct db_conn *t)
{
	if (t->conn)
		PQfinish(t->conn);
	t->conn = NULL;
	t->nprepared = 0;
}

static PGconn *db_connect(struct db_conn *t)
{
	static const char setup[] = "SELECT set_config('statement_timeout', $1, false), "
	                            "set_config('TimeZone', 'UTC', false)";
	char timeout[32];
	const char *params[1] = {timeout};
	PGresult *res;

	if (t->conn && PQstatus(t->conn) == CONNECTION_OK)
		return t->conn;
	db_forget(t);
	if (!db_conninfo)
		return NULL;
	t->conn = PQconnectdb(db_conninfo);
	if (PQstatus(t->conn) != CONNECTION_OK) {
		log_error("db: cannot connect: %s", PQerrorMessage(t->conn));
		db_forget(t);
		return NULL;
	}
	snprintf(timeout, sizeof timeout, "%ld", cfg.db_statement_timeout_ms);
	res = PQexecParams(t->conn, setup, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("db: session setup failed: %s", PQerrorMessage(t->conn));
		PQclear(res);
		db_forget(t);
		return NULL;
	}
	PQclear(res);
	return t->conn;
}

static enum db_status db_classify(struct db_conn *t, const PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *cons = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;

	snprintf(db_sqlstate, sizeof db_sqlstate, "%s", state ? state : "");
	snprintf(db_constraint, sizeof db_constraint, "%s", cons ? cons : "");
	if (!t->conn || PQstatus(t->conn) != CONNECTION_OK)
		return DB_DOWN;
	if (!state)
		return DB_FAILED;
	if (strcmp(state, "23505") == 0)
		return DB_UNIQUE;
	if (strncmp(state, "23", 2) == 0)
		return DB_CONSTRAINT;
	if (strncmp(state, "22", 2) == 0)
		return DB_BAD_INPUT;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "57014") == 0)
		return DB_RETRY; /* 57014: statement timeout, a sign of overload */
	if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0)
		return DB_DOWN;
	return DB_FAILED;
}

/* Index of sql among the statements prepared on this connection, preparing it if new. */
static int db_prepare(struct db_conn *t, const char *sql, int nparams, char *name, size_t namelen,
                      enum db_status *status)
{
	size_t i;
	for (i = 0; i < t->nprepared; i++)
		if (t->prepared[i] == sql)
			break;
	snprintf(name, namelen, "m%zu", i);
	if (i < t->nprepared)
		return 0;
	PGresult *res = PQprepare(t->conn, name, sql, nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*status = db_classify(t, res);
		log_error("db: prepare failed (%s): %s", db_sqlstate, PQresultErrorMessage(res));
		PQclear(res);
		return -1;
	}
	PQclear(res);
	if (t->nprepared == t->capprepared) {
		t->capprepared = t->capprepared ? t->capprepared * 2 : 32;
		t->prepared = xrealloc(t->prepared, t->capprepared * sizeof *t->prepared);
	}
	t->prepared[t->nprepared++] = sql;
	return 0;
}

PGresult *db_exec(const char *sql, int nparams, const char *const *params, enum db_status *status)
{
	struct db_conn *t = db_self();
	char name[32];
	PGresult *res;

	*status = DB_DOWN;
	db_sqlstate[0] = db_constraint[0] = '\0';
	if (!t || !db_connect(t))
		return NULL;
	if (db_prepare(t, sql, nparams, name, sizeof name, status) != 0)
		return NULL;
	res = PQexecPrepared(t->conn, name, nparams, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		*status = DB_OK;
		return res;
	}
	*status = db_classify(t, res);
	if (*status == DB_FAILED || *status == DB_DOWN)
		log_error("db: %s: %s", db_sqlstate[0] ? db_sqlstate : "-", PQresultErrorMessage(res));
	else
		log_debug("db: %s: %s", db_sqlstate, PQresultErrorMessage(res));
	PQclear(res);
	return NULL;
}

enum db_status db_run(const char *sql, int nparams, const char *const *params)
{
	enum db_status st;
	PQclear(db_exec(sql, nparams, params, &st));
	return st;
}

enum db_status db_script(const char *script)
{
	struct db_conn *t = db_self();
	enum db_status st = DB_DOWN;
	if (!t || !db_connect(t))
		return st;
	/* Simple-query protocol: the only way to run a file of many statements. The text is
	 * one of our own migration or seed files, never request data. */
	PGresult *res = PQexec(t->conn, script);
	ExecStatusType rs = PQresultStatus(res);
	if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK || rs == PGRES_EMPTY_QUERY) {
		st = DB_OK;
	} else {
		st = db_classify(t, res);
		log_error("db: script failed: %s", PQresultErrorMessage(res));
	}
	PQclear(res);
	return st;
}

enum db_status db_begin(void)
{
	static const char sql[] = "BEGIN";
	return db_run(sql, 0, NULL);
}

enum db_status db_commit(void)
{
	static const char sql[] = "COMMIT";
	return db_run(sql, 0, NULL);
}

void db_rollback(void)
{
	static const char sql[] = "ROLLBACK";
	struct db_conn *t = db_mine;
	if (t && t->conn && PQtransactionStatus(t->conn) != PQTRANS_IDLE)
		db_run(sql, 0, NULL);
}

void db_release(void)
{
	struct db_conn *t = db_mine;
	if (!t)
		return;
	if (t->conn && PQstatus(t->conn) != CONNECTION_OK)
		db_forget(t);
	else if (t->conn && PQtransactionStatus(t->conn) != PQTRANS_IDLE)
		db_rollback();
	db_give_back();
}

int db_ping(void)
{
	static const char sql[] = "SELECT 1";
	return db_run(sql, 0, NULL) == DB_OK ? 0 : -1;
}

const char *db_last_sqlstate(void)
{
	return db_sqlstate;
}

const char *db_last_constraint(void)
{
	return db_constraint;
}

const char *db_get(const PGresult *res, int row, int col)
{
	if (!res || row >= PQntuples(res) || col >= PQnfields(res) || PQgetisnull(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

long long db_get_ll(const PGresult *res, int row, int col)
{
	const char *v = db_get(res, row, col);
	return v ? strtoll(v, NULL, 10) : 0;
}

const char *db_col(const PGresult *res, int row, const char *name)
{
	int col = res ? PQfnumber(res, name) : -1;
	return col < 0 ? NULL : db_get(res, row, col);
}

long long db_col_ll(const PGresult *res, int row, const char *name)
{
	const char *v = db_col(res, row, name);
	return v ? strtoll(v, NULL, 10) : 0;
}

int db_col_true(const PGresult *res, int row, const char *name)
{
	const char *v = db_col(res, row, name);
	return v && v[0] == 't';
}

/* ---- typed parameters ---- */

/* The next slot; more parameters than DB_MAX_ARGS is a bug in the caller's SQL. */
static int db_arg_next(struct db_args *a)
{
	if (a->n >= DB_MAX_ARGS) {
		log_error("db: more than %d parameters", DB_MAX_ARGS);
		abort();
	}
	return a->n++;
}

void db_arg_text(struct db_args *a, const char *s)
{
	a->v[db_arg_next(a)] = s;
}

void db_arg_ll(struct db_args *a, long long x)
{
	int i = db_arg_next(a);
	snprintf(a->text[i], sizeof a->text[i], "%lld", x);
	a->v[i] = a->text[i];
}

void db_arg_double(struct db_args *a, double x)
{
	int i = db_arg_next(a);
	snprintf(a->text[i], sizeof a->text[i], "%.7f", x);
	a->v[i] = a->text[i];
}

void db_arg_bool(struct db_args *a, int b)
{
	a->v[db_arg_next(a)] = b ? "true" : "false";
}
