/* migrate: applies dir/NNN_*.sql in order, each once, each in its own transaction. */
#ifndef MITAN_MIGRATE_H
#define MITAN_MIGRATE_H

/* 0 on success; prints progress to stderr. */
int migrate_run(const char *dir);
/* Runs one SQL file in a transaction (seed files). 0 on success. */
int migrate_file(const char *path);

#endif
