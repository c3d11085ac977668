/* plan: a zone's day from the database to the route planner (vrptw) and back.
 *
 * The pure part (plan_solve) takes arrays: visits with their window, service minutes,
 * original agent and frozen flag; agents with base, shift and the units of each of their
 * windows (the agent_window ledger). It returns each visit's agent, route position and
 * planned service start, and never breaks a window or a per-window capacity: the windows
 * are visit classes with a per-agent capacity in the planner, which starts from the
 * current assignment; a plan that is not shorter than the current assignment re-ordered
 * is not taken (see docs/DISPATCH.md).
 *
 * The database part (plan_zone_day) reads one zone's day, solves, and writes agents,
 * route_order and planned_arrival back in one transaction that moves the units too. */
#ifndef MITAN_DISPATCH_PLAN_H
#define MITAN_DISPATCH_PLAN_H

#include <stddef.h>

#include "db.h"

#define PLAN_MAX_ROUNDS 4 /* re-plans a plan may take to restore the ledger, by default */

struct plan_problem {
	int nvisits, nagents, nwindows;
	/* visits (nvisits entries); times in minutes from any common origin */
	const double *vlat, *vlon;
	const double *ready, *due;    /* the window: service must start within it */
	const double *service;        /* minutes at the door */
	const int *vwindow;           /* window index, 0..nwindows-1 */
	const int *vorig;             /* agent holding its unit now; -1 = none of these agents */
	const unsigned char *vfrozen; /* 1: keeps vorig (status assigned) */
	const unsigned char *capable; /* nagents*nvisits, row-major by agent: skills allow it */
	/* agents (nagents entries) */
	const double *alat, *alon;
	const double *shift_start, *shift_end;
	const int *wcap;    /* nagents*nwindows: units the plan may use in each window */
	double road_factor; /* road km = geodesic km x this */
	double speed_kmh;
};

struct plan_options {
	unsigned long long seed;
	double time_limit_s; /* of the whole plan, all rounds */
	long max_iterations; /* of the first round; 0: 2000 x (visits + 10) up to 300 visits, else
	                      * the time limit only */
	int fixed;           /* keep every visit with its original agent (the greedy baseline) */
	int max_rounds;      /* re-plans allowed to restore the ledger (0: PLAN_MAX_ROUNDS) */
};

struct plan_result {
	int *agent;      /* nvisits: agent index; unrouted visits keep vorig (maybe -1) */
	int *order;      /* nvisits: 1-based position in the agent's route; 0 = unrouted */
	double *arrival; /* nvisits: planned service start (minutes); unrouted: -1 */
	int routed, moved, unroutable, rounds;
	int repaired;     /* 1: the planner's plan broke the ledger and had to be repaired (a bug) */
	int kept;         /* 1: the current assignment (re-ordered) was kept: the new plan was no shorter */
	double travel_km; /* road km of all routes */
};

/* Road travel minutes between two points (haversine x road_factor / speed). */
double plan_travel_minutes(double lat1, double lon1, double lat2, double lon2, double road_factor, double speed_kmh);

/* Plans. 0 on success (*out filled; release with plan_result_free), -1 on bad input or
 * out of memory (*out empty). */
int plan_solve(const struct plan_problem *p, const struct plan_options *o, struct plan_result *out);
void plan_result_free(struct plan_result *r);

/* 0 when the assignment `agent` (nvisits; -1 = outside) uses at most wcap units of every
 * agent's window; otherwise -1 with the first offending cell in why. */
int plan_ledger_check(const struct plan_problem *p, const int *agent, char *why, size_t whylen);

/* What one zone's planning did. */
struct plan_report {
	char zone[20];
	char day[12];
	int visits, agents, routed, moved, unroutable, rounds;
	double travel_km, baseline_km, seconds;
};

/* Plans zone `zone_code` on local day `day` (YYYY-MM-DD) and writes the plan back.
 * district_id 0 = any district; otherwise a zone of another district is not found.
 * baseline: also plan the unchanged (booking-time) assignment and report its travel.
 * Returns DB_OK with *found = 0 when there is no such zone. */
enum db_status plan_zone_day(const char *zone_code, const char *day, long long district_id, const char *actor_role,
                             long long actor_id, const struct plan_options *o, int baseline, struct plan_report *rep,
                             int *found);

/* `mitan plan --date YYYY-MM-DD [--zone Z] [--seed S] [--time-limit SECONDS] [--baseline]`:
 * plans every zone with visits that day (or one), prints one JSON line per zone. argv[0]
 * is the first argument after "plan". Returns the process exit code. */
int plan_main(int argc, char **argv);

#endif
