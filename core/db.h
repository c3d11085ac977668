/* db: the one way to PostgreSQL. A bounded pool of connections (cfg.db_connections), made
 * lazily and reset when broken: a thread holds one from its first statement until
 * db_release(). A thread that finds none free waits at most cfg.db_wait_ms; its statement
 * then fails with DB_DOWN (a 503 with Retry-After). Every statement is parameterised ($n) and prepared once per
 * connection, keyed by the address of its static SQL text. */
#ifndef MITAN_DB_H
#define MITAN_DB_H

#include <libpq-fe.h>
#include <stdint.h>

/* Outcome of a statement, from its SQLSTATE. */
enum db_status {
	DB_OK = 0,
	DB_UNIQUE,     /* 23505: duplicate */
	DB_CONSTRAINT, /* 23xxx other than 23505: a rule of the data refused the change */
	DB_BAD_INPUT,  /* 22xxx: a value the database could not take */
	DB_RETRY,      /* 40001, 40P01: serialization failure or deadlock; try again */
	DB_DOWN,       /* no connection, or none of the pool came free in time */
	DB_FAILED,     /* anything else: a bug or an operational fault */
};

/* The conninfo of the database, the one reader of it: MITAN_DATABASE_URL, or the embedded
 * cluster's <data>/pg/conninfo. 0 on success; else err says what is missing. */
int db_conninfo_read(char *out, size_t outlen, char *err, size_t errlen);
/* Sets up the pool on that conninfo. */
int db_init(char *err, size_t errlen);
/* Gives back the caller's connection; from the thread that called db_init, also closes
 * the pool. */
void db_shutdown(void);

/* Runs a statement with text parameters (NULL = SQL NULL). Returns the result (caller
 * PQclear()s it, NULL on failure) and sets *status. `sql` must be static storage. */
PGresult *db_exec(const char *sql, int nparams, const char *const *params, enum db_status *status);
/* Runs a statement whose rows are not needed. */
enum db_status db_run(const char *sql, int nparams, const char *const *params);
/* Runs a multi-statement script (migrations and seeds from files we ship). */
enum db_status db_script(const char *script);

enum db_status db_begin(void);
enum db_status db_commit(void);
void db_rollback(void); /* no-op outside a transaction */
/* Called after each request or job: rolls back an open transaction, drops a broken link,
 * and gives the connection back to the pool. */
void db_release(void);
int db_ping(void); /* 0 when the database answers */
/* The last error's SQLSTATE and constraint name of this thread ("" when none). */
const char *db_last_sqlstate(void);
const char *db_last_constraint(void);

/* Field access: NULL for SQL NULL. */
const char *db_get(const PGresult *res, int row, int col);
long long db_get_ll(const PGresult *res, int row, int col);
/* Field access by column name (the SELECT's alias): NULL for SQL NULL or no such column. */
const char *db_col(const PGresult *res, int row, const char *name);
long long db_col_ll(const PGresult *res, int row, const char *name);
int db_col_true(const PGresult *res, int row, const char *name); /* a boolean column is true */

/* Typed parameters, in $n order: numbers are formatted here, once, instead of into char
 * arrays at every call. Pass a.n and a.v to db_exec/db_run. The struct owns the text of
 * numbers; strings are borrowed and must outlive the call. */
#define DB_MAX_ARGS 24
struct db_args {
	int n;
	const char *v[DB_MAX_ARGS];
	char text[DB_MAX_ARGS][32];
};
void db_arg_text(struct db_args *a, const char *s); /* NULL = SQL NULL */
void db_arg_ll(struct db_args *a, long long x);
void db_arg_double(struct db_args *a, double x); /* 7 decimals: degrees to ~1 cm */
void db_arg_bool(struct db_args *a, int b);

#endif
