/*
 * Unit tests for the pure part of dispatch/planner/plan.c: travel times, the ledger check, and a
 * property test — on random zones with per-window capacities, every plan keeps each visit
 * in its window (checked by vrptw_check on the plan's routes, rebuilt independently) and
 * never uses more units of an agent's window than it has.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner/plan.h"
#include "planner/vrptw.h"

static void test_travel_minutes(void **state)
{
	(void)state;
	/* 0.01 degree of latitude is 1.112 km; x1.4 road / 18 km/h = 5.19 minutes. */
	double m = plan_travel_minutes(21.0, 81.0, 21.01, 81.0, 1.4, 18);
	assert_true(fabs(m - 1.11195 * 1.4 / 18 * 60) < 0.01);
	assert_true(plan_travel_minutes(21.0, 81.0, 21.0, 81.0, 1.4, 18) == 0.0);
	assert_true(fabs(plan_travel_minutes(21, 81, 21.3, 81.2, 1, 30) -
	                 plan_travel_minutes(21.3, 81.2, 21, 81, 1, 30)) < 1e-9);
}

/* A random zone: nagents agents, 4 windows of 120 minutes from 09:00, per-window units. */
struct inst {
	int nv, na, nw;
	double vlat[200], vlon[200], ready[200], due[200], service[200];
	int vwindow[200], vorig[200];
	unsigned char vfrozen[200], capable[12 * 200];
	double alat[12], alon[12], ss[12], se[12];
	int wcap[12 * 4];
	struct plan_problem p;
};

static unsigned long long rng_state;
static double rnd(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Visits are booked like the booking code does: nearest capable agent with a unit left. */
static void make(struct inst *s, unsigned long long seed, int na, int nv, int per_window)
{
	memset(s, 0, sizeof *s);
	rng_state = seed;
	s->na = na;
	s->nw = 4;
	for (int a = 0; a < na; a++) {
		s->alat[a] = 21.25 + 0.06 * rnd();
		s->alon[a] = 81.61 + 0.04 * rnd();
		s->ss[a] = 9 * 60;
		s->se[a] = 18 * 60;
		for (int w = 0; w < 4; w++)
			s->wcap[a * 4 + w] = (int)(rnd() * (per_window + 1));
	}
	int *used = calloc((size_t)na * 4, sizeof *used);
	for (int i = 0; i < nv && s->nv < 200; i++) {
		int v = s->nv, w = (int)(rnd() * 4), best = -1;
		double lat = 21.25 + 0.06 * rnd(), lon = 81.61 + 0.04 * rnd(), bestd = 1e18;
		for (int a = 0; a < na; a++) {
			int capable = rnd() < 0.85;
			s->capable[a * 200 + v] = (unsigned char)capable;
			double d = plan_travel_minutes(lat, lon, s->alat[a], s->alon[a], 1.4, 18);
			if (capable && used[a * 4 + w] < s->wcap[a * 4 + w] && d < bestd) {
				bestd = d;
				best = a;
			}
		}
		if (best < 0)
			continue; /* slot full: the booking was refused */
		used[best * 4 + w]++;
		s->vlat[v] = lat;
		s->vlon[v] = lon;
		s->vwindow[v] = w;
		s->ready[v] = (9 + 2 * w + (w >= 2)) * 60;
		s->due[v] = s->ready[v] + 120;
		s->service[v] = 15 + 15 * (int)(rnd() * 3);
		s->vorig[v] = best;
		s->vfrozen[v] = rnd() < 0.1;
		s->nv++;
	}
	free(used);
	/* capable is laid out with a stride of 200; plan_problem wants nagents x nvisits. */
	static unsigned char packed[12 * 200];
	for (int a = 0; a < na; a++)
		for (int v = 0; v < s->nv; v++)
			packed[a * s->nv + v] = s->capable[a * 200 + v];
	memcpy(s->capable, packed, sizeof packed);
	s->p = (struct plan_problem){.nvisits = s->nv,
	                             .nagents = na,
	                             .nwindows = 4,
	                             .vlat = s->vlat,
	                             .vlon = s->vlon,
	                             .ready = s->ready,
	                             .due = s->due,
	                             .service = s->service,
	                             .vwindow = s->vwindow,
	                             .vorig = s->vorig,
	                             .vfrozen = s->vfrozen,
	                             .capable = s->capable,
	                             .alat = s->alat,
	                             .alon = s->alon,
	                             .shift_start = s->ss,
	                             .shift_end = s->se,
	                             .wcap = s->wcap,
	                             .road_factor = 1.4,
	                             .speed_kmh = 18};
}

/* Rebuilds the routes of a plan as a vrptw problem and solution and checks them with
 * vrptw_check (windows, shifts, capable, coverage), plus the ledger and frozen visits. */
static void check_plan(const struct inst *s, const struct plan_result *res, int fixed)
{
	int na = s->na, nv = s->nv, n = na + nv;
	double *travel = malloc(sizeof(double) * (size_t)n * (size_t)n);
	double ready[212], due[212], service[212];
	int demand[212], start[12], cap[12];
	unsigned char *can = calloc((size_t)na * (size_t)n, 1);
	char why[200];
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++) {
			double la = i < na ? s->alat[i] : s->vlat[i - na], lo = i < na ? s->alon[i] : s->vlon[i - na];
			double lb = j < na ? s->alat[j] : s->vlat[j - na], lob = j < na ? s->alon[j] : s->vlon[j - na];
			travel[i * n + j] = i == j ? 0 : plan_travel_minutes(la, lo, lb, lob, 1.4, 18);
		}
	for (int a = 0; a < na; a++) {
		ready[a] = s->ss[a];
		due[a] = s->se[a];
		service[a] = 0;
		demand[a] = 0;
		start[a] = a;
		cap[a] = 1000;
		for (int v = 0; v < nv; v++)
			can[a * n + na + v] = s->capable[a * nv + v] || s->vorig[v] == a;
	}
	for (int v = 0; v < nv; v++) {
		ready[na + v] = s->ready[v];
		due[na + v] = s->due[v];
		service[na + v] = s->service[v];
		demand[na + v] = 1;
	}
	vrptw_problem_t vp = {.n = n,
	                      .ndepots = na,
	                      .travel = travel,
	                      .demand = demand,
	                      .ready = ready,
	                      .due = due,
	                      .service = service,
	                      .nvehicles = na,
	                      .vehicle_capacity = cap,
	                      .vehicle_start = start,
	                      .shift_start = s->ss,
	                      .shift_end = s->se,
	                      .can_serve = can};
	/* Routes from the result: per agent, visits sorted by order. */
	vrptw_solution_t sol;
	memset(&sol, 0, sizeof sol);
	sol.routes = calloc((size_t)na, sizeof *sol.routes);
	sol.unassigned = calloc((size_t)nv + 1, sizeof(int));
	for (int a = 0; a < na; a++) {
		vrptw_route_t *r = &sol.routes[sol.nroutes];
		r->vehicle = a;
		r->visits = calloc((size_t)nv + 1, sizeof(int));
		for (int k = 1; k <= nv; k++)
			for (int v = 0; v < nv; v++)
				if (res->order[v] == k && res->agent[v] == a)
					r->visits[r->len++] = na + v;
		if (r->len > 0)
			sol.nroutes++;
		else
			free(r->visits);
	}
	for (int v = 0; v < nv; v++) {
		if (res->order[v] == 0) {
			sol.unassigned[sol.nunassigned++] = na + v;
			assert_int_equal(res->agent[v], s->vorig[v]); /* unrouted: keeps its unit */
		} else {
			assert_true(res->arrival[v] >= s->ready[v] - 1e-6 && res->arrival[v] <= s->due[v] + 1e-6);
		}
		if (s->vfrozen[v] || fixed)
			assert_int_equal(res->agent[v], s->vorig[v]);
	}
	int ok = vrptw_check(&vp, &sol, NULL, why, sizeof why);
	if (ok != 0)
		fail_msg("plan breaks a rule: %s", why);
	if (plan_ledger_check(&s->p, res->agent, why, sizeof why) != 0)
		fail_msg("plan breaks the ledger: %s", why);
	for (int r = 0; r < sol.nroutes; r++)
		free(sol.routes[r].visits);
	free(sol.routes);
	free(sol.unassigned);
	free(travel);
	free(can);
}

static void test_ledger_check(void **state)
{
	(void)state;
	static struct inst s;
	char why[120];
	make(&s, 7, 3, 30, 3);
	assert_int_equal(plan_ledger_check(&s.p, s.vorig, why, sizeof why), 0); /* as booked */
	int agent[200];
	for (int v = 0; v < s.nv; v++)
		agent[v] = 0; /* everything on agent 0 */
	assert_int_equal(plan_ledger_check(&s.p, agent, why, sizeof why), -1);
	assert_non_null(strstr(why, "agent 0"));
}

/* The property: over random zones (tight per-window units, 10 % frozen visits), the
 * plan never breaks a window, a shift, a skill or a per-window capacity; the planner
 * keeps the ledger natively (no re-planning round, no ejection); and the plan is never
 * longer than the current assignment re-ordered (the fixed plan) while routing as many. */
static void test_property_random_zones(void **state)
{
	(void)state;
	static struct inst s;
	int kept = 0, moved = 0;
	double km = 0, fixed_km = 0;
	for (unsigned long long seed = 1; seed <= 40; seed++) {
		make(&s, seed, 2 + (int)(seed % 9), 20 + (int)(seed * 7 % 150), 2 + (int)(seed % 4));
		struct plan_options o = {.seed = seed, .time_limit_s = 5, .max_iterations = 3000, .max_rounds = 4};
		struct plan_result res;
		assert_int_equal(plan_solve(&s.p, &o, &res), 0);
		check_plan(&s, &res, 0);
		assert_int_equal(res.routed + res.unroutable, s.nv);
		assert_int_equal(res.rounds, 1);
		assert_int_equal(res.repaired, 0);
		struct plan_result fres;
		struct plan_options fo = o;
		fo.fixed = 1;
		assert_int_equal(plan_solve(&s.p, &fo, &fres), 0);
		check_plan(&s, &fres, 1);
		assert_int_equal(fres.moved, 0);
		assert_true(res.routed >= fres.routed);
		if (res.routed == fres.routed)
			assert_true(res.travel_km <= fres.travel_km + 1e-9);
		kept += res.kept;
		moved += res.moved;
		km += res.travel_km;
		fixed_km += fres.travel_km;
		plan_result_free(&fres);
		plan_result_free(&res);
		/* One round only: still no ejection needed. */
		o.max_rounds = 1;
		assert_int_equal(plan_solve(&s.p, &o, &res), 0);
		check_plan(&s, &res, 0);
		assert_int_equal(res.routed + res.unroutable, s.nv);
		assert_int_equal(res.repaired, 0);
		plan_result_free(&res);
	}
	print_message("40 random zones: %.1f km planned vs %.1f km as booked (re-ordered); %d visits moved; "
	              "%d zones kept their assignment\n",
	              km, fixed_km, moved, kept);
}

static void test_bad_input(void **state)
{
	(void)state;
	static struct inst s;
	struct plan_result res;
	struct plan_options o = {.seed = 1, .time_limit_s = 1};
	make(&s, 3, 2, 10, 2);
	s.p.speed_kmh = 0;
	assert_int_equal(plan_solve(&s.p, &o, &res), -1);
	s.p.speed_kmh = 18;
	s.p.nagents = 0; /* nobody works that day: nothing routed, nothing lost */
	for (int v = 0; v < s.nv; v++)
		s.vorig[v] = -1;
	assert_int_equal(plan_solve(&s.p, &o, &res), 0);
	assert_int_equal(res.unroutable, s.nv);
	assert_int_equal(res.routed, 0);
	plan_result_free(&res);
	plan_result_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_travel_minutes),
	    cmocka_unit_test(test_ledger_check),
	    cmocka_unit_test(test_property_random_zones),
	    cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
