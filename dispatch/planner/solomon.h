/*
 * solomon - reader for Solomon-format VRPTW instances and the
 * `mitan plan --solomon FILE` command.
 *
 * The format (e.g. ../shared/data/solomon/C101.txt): a name line, a VEHICLE
 * section (NUMBER CAPACITY), a CUSTOMER section with a header and one row per
 * node: CUST NO., XCOORD., YCOORD., DEMAND, READY TIME, DUE DATE, SERVICE TIME.
 * Row 0 is the depot. Travel time = distance = Euclidean, unrounded doubles.
 */
#ifndef MITAN_DISPATCH_SOLOMON_H
#define MITAN_DISPATCH_SOLOMON_H

#include <stddef.h>
#include <stdio.h>

#include "planner/vrptw.h"

/* Largest instance accepted: the travel matrix is n*n doubles. */
#define SOLOMON_MAX_NODES 5000

typedef struct solomon_instance {
	char *name; /* instance name (first line) */
	int n;      /* nodes, depot 0 included */
	int nvehicles;
	int capacity;
	int *id;                       /* n: CUST NO. of each row (0 for the depot) */
	double *x, *y;                 /* n */
	int *demand;                   /* n */
	double *ready, *due, *service; /* n */
	double *travel;                /* n*n Euclidean */
	vrptw_problem_t problem;       /* points into the arrays above */
} solomon_instance_t;

/*
 * Parses an instance from text (len bytes, need not be NUL-terminated).
 * Returns 0 and fills *inst (free with solomon_free), or -1 with a message
 * in err (one line, no trailing newline). *inst is empty on failure.
 */
int solomon_parse(const char *text, size_t len, solomon_instance_t *inst, char *err, size_t errlen);

/* Reads and parses the file at path; same contract as solomon_parse(). */
int solomon_read(const char *path, solomon_instance_t *inst, char *err, size_t errlen);

/* Releases an instance; NULL-safe, idempotent. */
void solomon_free(solomon_instance_t *inst);

/*
 * Writes {"vehicles": n, "distance": d, "routes": [[customer numbers...]...]}
 * and a newline to f; routes list CUST NO. values in visiting order without
 * the depot. When some customers could not be served, an extra key
 * "unassigned": [customer numbers...] is added. Returns 0, or -1 on a write
 * error.
 */
int solomon_write_json(FILE *f, const solomon_instance_t *inst, const vrptw_solution_t *sol);

/*
 * `mitan plan --solomon FILE [--seed S] [--time-limit SECONDS]
 * [--iterations N]`. argv[0] is the first argument AFTER "plan" (argc counts
 * only those). Prints the JSON plan on stdout. Exit codes: 0 all customers
 * served, 1 some customers unassigned (JSON still printed), 2 bad arguments
 * or unreadable/malformed file (message on stderr), 3 out of memory.
 */
int solomon_plan_main(int argc, char **argv);

#endif
