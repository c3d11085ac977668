/* migrate: applies dir/NNN_*.sql in order, each once, each in its own transaction. */
#ifndef MITAN_MIGRATE_H
#define MITAN_MIGRATE_H

/* 0 on success; prints progress to stderr. */
int migrate_run(const char *dir);
/* Runs one SQL file in a transaction (seed files). 0 on success. */
int migrate_file(const char *path);
/* The same, in a transaction of its own when own_tx, else in the caller's (which then
 * commits or rolls back). 0 on success. */
int migrate_file_tx(const char *path, int own_tx);

#endif
