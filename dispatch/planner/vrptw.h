/*
 * vrptw - route planner for the vehicle routing problem with time windows.
 *
 * Pure C, no database: arrays in, routes out. The objective is to serve as
 * many visits as possible and, among those plans, to minimise total travel
 * (the travel matrix is used both as travel time and as distance).
 *
 * Nodes 0 .. ndepots-1 are depots (vehicle start/end places); nodes
 * ndepots .. n-1 are visits. A visit's service must START within
 * [ready, due]; arriving early means waiting. Each vehicle leaves its start
 * depot no earlier than its shift start and must be back at its end depot no
 * later than its shift end.
 *
 * Method: greedy insertion construction, then ruin-and-recreate with string
 * removals (SISR, Christiaens & Vanden Berghe 2020) under simulated annealing,
 * then a relocate / 2-opt* local search on the best plan. See docs/PLANNER.md.
 *
 * Determinism: for a given seed and max_iterations the result is identical on
 * every run and machine. With only a wall-clock time limit, the cooling follows
 * elapsed time, so the result depends on the speed of the machine.
 */
#ifndef MITAN_DISPATCH_VRPTW_H
#define MITAN_DISPATCH_VRPTW_H

#include <stddef.h>

/* Return codes (0 = success, as everywhere in Mitan). */
enum {
	VRPTW_OK = 0,
	VRPTW_EINVAL = 1, /* the problem or options are malformed */
	VRPTW_ENOMEM = 2  /* an allocation failed or the problem is too large */
};

/*
 * The problem. All arrays are borrowed (the caller owns them) and must stay
 * valid during vrptw_solve()/vrptw_check(). Per-node arrays have n entries
 * (depot entries of demand/ready/due/service are ignored except as noted).
 */
typedef struct vrptw_problem {
	int n;                 /* nodes, depots included; >= 1 */
	int ndepots;           /* nodes [0, ndepots) are depots; >= 1 */
	const double *travel;  /* n*n row-major: travel[i*n+j] from i to j, >= 0 */
	const int *demand;     /* n: units a visit uses, >= 0 */
	const double *ready;   /* n: earliest service start */
	const double *due;     /* n: latest service start */
	const double *service; /* n: service duration, >= 0 */

	int nvehicles; /* >= 0 */
	int capacity;  /* capacity of every vehicle unless vehicle_capacity */
	/* Optional per-vehicle arrays (nvehicles entries); NULL = default. */
	const int *vehicle_capacity; /* default: capacity */
	const int *vehicle_start;    /* start depot; default: 0 */
	const int *vehicle_end;      /* end depot; default: the start depot */
	const double *shift_start;   /* default: ready[start depot] */
	const double *shift_end;     /* default: due[end depot] */
	/* Optional nvehicles*n row-major matrix: can_serve[v*n+i] != 0 if vehicle
	 * v may serve visit i (skills, zones). NULL: every vehicle serves all. */
	const unsigned char *can_serve;
	/* Optional capacity per vehicle and visit class (e.g. visits per time
	 * window): vehicle v serves at most class_capacity[v*nclasses+k] visits
	 * whose visit_class is k. nclasses 0 (or NULL arrays) = no such limit. */
	int nclasses;              /* >= 0 */
	const int *visit_class;    /* n: class of each node, -1 = none */
	const int *class_capacity; /* nvehicles*nclasses, >= 0 */
	/* Optional, n entries: a visit that ends up UNASSIGNED still uses one
	 * unit of its class at this vehicle (-1 = none), as a booking the plan
	 * cannot route keeps its agent's unit. Routed, it counts where routed. */
	const int *class_holder;
} vrptw_problem_t;

typedef struct vrptw_options {
	unsigned long long seed;
	double time_limit_s; /* wall clock; <= 0: none (then max_iterations > 0) */
	long max_iterations; /* ruin-and-recreate steps; <= 0: none. When set,
	                      * cooling follows iterations: fully deterministic. */
	/* Optional start plan: n entries, the vehicle that serves each visit now
	 * (-1 = none; depot entries ignored). Each vehicle's visits are inserted
	 * into its route by ready time, each at its cheapest feasible place (a
	 * visit with none is left to the greedy insertion like any other), and the
	 * search starts from there; the result is never worse (served visits,
	 * then travel) than that start. NULL = start from scratch. */
	const int *initial_vehicle;
} vrptw_options_t;

typedef struct vrptw_route {
	int vehicle;     /* index of the vehicle that drives it */
	int len;         /* number of visits */
	int *visits;     /* len node indices, in visiting order, no depots */
	double *start;   /* len planned service start times (earliest schedule) */
	double distance; /* travel of the route, depot legs included */
} vrptw_route_t;

typedef struct vrptw_solution {
	int nroutes; /* non-empty routes only */
	vrptw_route_t *routes;
	int nunassigned; /* visits no vehicle could serve */
	int *unassigned; /* their node indices, ascending */
	double distance; /* total travel */
	long iterations; /* ruin-and-recreate steps performed */
} vrptw_solution_t;

/* Defaults: seed 1, time limit 1 s, no iteration cap. */
void vrptw_options_init(vrptw_options_t *opt);

/*
 * Plans routes. On success returns VRPTW_OK and fills *out, which the caller
 * releases with vrptw_solution_free(). On failure *out is left empty (safe to
 * free). Every visit ends up either in exactly one route or in unassigned.
 */
int vrptw_solve(const vrptw_problem_t *p, const vrptw_options_t *opt, vrptw_solution_t *out);

/* Releases what vrptw_solve() allocated; NULL-safe, idempotent. */
void vrptw_solution_free(vrptw_solution_t *s);

/*
 * Checks a solution from its routes and unassigned list only (the stored
 * distances are not trusted): valid distinct vehicles, every visit exactly
 * once (routed or unassigned), capacity, can_serve, time windows with waiting,
 * shifts. Returns 0 if feasible and stores the recomputed total travel in
 * *distance (if not NULL); otherwise returns -1 and writes the reason to why
 * (if not NULL).
 */
int vrptw_check(const vrptw_problem_t *p, const vrptw_solution_t *s, double *distance, char *why, size_t whylen);

#endif
