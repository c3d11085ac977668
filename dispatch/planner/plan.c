#include "planner/plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "booking/change.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "planner/vrptw.h"
#include "util.h"

#define PLAN_TRIES 3 /* a plan whose bookings changed while it was computed is made again */

/* ---- the pure part ---- */

double plan_travel_minutes(double lat1, double lon1, double lat2, double lon2, double road_factor, double speed_kmh)
{
	const double r = 6371.0088, rad = 3.14159265358979323846 / 180.0;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) + cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
	double km = 2 * r * asin(sqrt(a < 1 ? a : 1));
	return km * road_factor / speed_kmh * 60.0;
}

void plan_result_free(struct plan_result *r)
{
	if (!r)
		return;
	free(r->agent);
	free(r->order);
	free(r->arrival);
	memset(r, 0, sizeof *r);
}

int plan_ledger_check(const struct plan_problem *p, const int *agent, char *why, size_t whylen)
{
	int rc = 0;
	int *count = xcalloc((size_t)p->nagents * (size_t)p->nwindows + 1, sizeof *count);
	for (int v = 0; v < p->nvisits; v++)
		if (agent[v] >= 0)
			count[agent[v] * p->nwindows + p->vwindow[v]]++;
	for (int a = 0; a < p->nagents && !rc; a++)
		for (int w = 0; w < p->nwindows && !rc; w++)
			if (count[a * p->nwindows + w] > p->wcap[a * p->nwindows + w]) {
				if (why)
					snprintf(why, whylen, "agent %d window %d: %d visits, %d units", a, w,
					         count[a * p->nwindows + w], p->wcap[a * p->nwindows + w]);
				rc = -1;
			}
	free(count);
	return rc;
}

static int plan_valid(const struct plan_problem *p)
{
	if (p->nvisits < 0 || p->nagents < 0 || p->nwindows < 0 || !(p->road_factor > 0) || !(p->speed_kmh > 0))
		return 0;
	for (int v = 0; v < p->nvisits; v++)
		if (p->vwindow[v] < 0 || p->vwindow[v] >= p->nwindows || p->vorig[v] < -1 ||
		    p->vorig[v] >= p->nagents || !(p->due[v] >= p->ready[v]) || !(p->service[v] >= 0))
			return 0;
	for (int i = 0; i < p->nagents * p->nwindows; i++)
		if (p->wcap[i] < 0)
			return 0;
	return 1;
}

/* The state of the search for a ledger-respecting plan. */
struct plan_work {
	const struct plan_problem *p;
	int n; /* nodes: agents' bases, then visits */
	double *travel, *ready, *due, *service;
	int *demand, *vcap, *vstart;
	int *vclass;           /* n: a visit's window (its class for the planner); -1 for bases */
	int *initial;          /* n: the agent holding a visit's unit now; -1 = none */
	unsigned char *can;    /* nagents * n */
	unsigned char *forbid; /* nagents * nvisits: moves refused by an earlier round */
	unsigned char *closed; /* nagents * nwindows: windows closed to newcomers */
};

static void plan_work_free(struct plan_work *w)
{
	free(w->travel);
	free(w->ready);
	free(w->due);
	free(w->service);
	free(w->demand);
	free(w->vcap);
	free(w->vstart);
	free(w->vclass);
	free(w->initial);
	free(w->can);
	free(w->forbid);
	free(w->closed);
}

static void plan_work_init(struct plan_work *w, const struct plan_problem *p)
{
	int na = p->nagents, n = p->nagents + p->nvisits;
	memset(w, 0, sizeof *w);
	w->p = p;
	w->n = n;
	w->travel = xmalloc((size_t)n * (size_t)n * sizeof *w->travel);
	w->ready = xcalloc((size_t)n, sizeof *w->ready);
	w->due = xcalloc((size_t)n, sizeof *w->due);
	w->service = xcalloc((size_t)n, sizeof *w->service);
	w->demand = xcalloc((size_t)n, sizeof *w->demand);
	w->vcap = xcalloc((size_t)na + 1, sizeof *w->vcap);
	w->vstart = xcalloc((size_t)na + 1, sizeof *w->vstart);
	w->vclass = xmalloc((size_t)n * sizeof *w->vclass);
	w->initial = xmalloc((size_t)n * sizeof *w->initial);
	w->can = xcalloc((size_t)na * (size_t)n + 1, 1);
	w->forbid = xcalloc((size_t)na * (size_t)p->nvisits + 1, 1);
	w->closed = xcalloc((size_t)na * (size_t)p->nwindows + 1, 1);
	for (int i = 0; i < n; i++) {
		double lat1 = i < na ? p->alat[i] : p->vlat[i - na], lon1 = i < na ? p->alon[i] : p->vlon[i - na];
		for (int j = 0; j < n; j++) {
			double lat2 = j < na ? p->alat[j] : p->vlat[j - na],
			       lon2 = j < na ? p->alon[j] : p->vlon[j - na];
			w->travel[(size_t)i * (size_t)n + (size_t)j] =
			    i == j ? 0.0 : plan_travel_minutes(lat1, lon1, lat2, lon2, p->road_factor, p->speed_kmh);
		}
	}
	for (int a = 0; a < na; a++) {
		w->vclass[a] = -1;
		w->initial[a] = -1;
		w->ready[a] = p->shift_start[a];
		w->due[a] = p->shift_end[a];
		w->vstart[a] = a;
		for (int k = 0; k < p->nwindows; k++)
			w->vcap[a] += p->wcap[a * p->nwindows + k];
	}
	for (int v = 0; v < p->nvisits; v++) {
		w->ready[na + v] = p->ready[v];
		w->due[na + v] = p->due[v];
		w->service[na + v] = p->service[v];
		w->demand[na + v] = 1;
		w->vclass[na + v] = p->vwindow[v];
		w->initial[na + v] = p->vorig[v];
	}
}

/* Who may serve what in this round. fixed: only the original agent. */
static void plan_work_can(struct plan_work *w, int fixed)
{
	const struct plan_problem *p = w->p;
	int na = p->nagents;
	memset(w->can, 0, (size_t)na * (size_t)w->n);
	for (int a = 0; a < na; a++)
		for (int v = 0; v < p->nvisits; v++) {
			int k = p->vwindow[v], ok;
			if (fixed || p->vfrozen[v])
				ok = p->vorig[v] == a;
			else if (p->vorig[v] == a)
				ok = 1; /* its own unit: never refused */
			else
				ok = p->capable[(size_t)a * (size_t)p->nvisits + (size_t)v] &&
				     p->wcap[a * p->nwindows + k] > 0 &&
				     !w->forbid[(size_t)a * (size_t)p->nvisits + (size_t)v] &&
				     !w->closed[a * p->nwindows + k];
			w->can[(size_t)a * (size_t)w->n + (size_t)(na + v)] = (unsigned char)ok;
		}
}

/* After a round that broke the ledger: refuse the newcomers beyond each window's units
 * (early rounds), or close the window to newcomers altogether (later rounds, so that the
 * search ends quickly). Newcomers exist in every over-full window, because the visits
 * that hold its units now never exceed them. */
static void plan_work_restrict(struct plan_work *w, const int *agent, int round)
{
	const struct plan_problem *p = w->p;
	int nw = p->nwindows;
	int *count = xcalloc((size_t)p->nagents * (size_t)nw + 1, sizeof *count);
	for (int v = 0; v < p->nvisits; v++)
		if (agent[v] >= 0)
			count[agent[v] * nw + p->vwindow[v]]++;
	for (int v = p->nvisits - 1; v >= 0; v--) {
		int a = agent[v];
		if (a < 0 || p->vorig[v] == a)
			continue;
		int cell = a * nw + p->vwindow[v];
		if (count[cell] <= p->wcap[cell])
			continue;
		if (round < 2) {
			w->forbid[(size_t)a * (size_t)p->nvisits + (size_t)v] = 1;
			count[cell]--;
		} else {
			w->closed[cell] = 1;
		}
	}
	free(count);
}

/* Simulates agent a driving seq[0..len) (visit indices). Returns the travel minutes and
 * fills starts (may be NULL), or -1 when a window or the shift end is broken. */
static double plan_route(const struct plan_work *w, int a, const int *seq, int len, double *starts)
{
	const struct plan_problem *p = w->p;
	int na = p->nagents, prev = a;
	double t = p->shift_start[a], dist = 0;
	for (int i = 0; i < len; i++) {
		int u = na + seq[i];
		double d = w->travel[(size_t)prev * (size_t)w->n + (size_t)u];
		t += (i == 0 ? 0 : w->service[prev]) + d;
		dist += d;
		if (t < w->ready[u])
			t = w->ready[u];
		if (t > w->due[u] + 1e-9)
			return -1;
		if (starts)
			starts[i] = t;
		prev = u;
	}
	double d = w->travel[(size_t)prev * (size_t)w->n + (size_t)a];
	t += (len ? w->service[prev] : 0) + d;
	return t > p->shift_end[a] + 1e-9 ? -1 : dist + d;
}

/* The last resort when re-planning did not restore the ledger: newcomers are taken out of
 * over-full windows (back to the agent holding their unit) until none is over-full, which
 * ends because newcomers only decrease; routes are renumbered and re-timed (dropping a
 * visit never makes a later one late, travel obeys the triangle inequality), and each
 * visit sent back is put into its own agent's route at the cheapest place that keeps every
 * window, or stays unrouted (flagged). */
static void plan_eject(const struct plan_work *w, int *agent, int *order, double *arrival)
{
	const struct plan_problem *p = w->p;
	int na = p->nagents, nv = p->nvisits, nw = p->nwindows, changed = 1;
	int *count = xcalloc((size_t)na * (size_t)nw + 1, sizeof *count);
	int *seq = xmalloc(((size_t)nv + 1) * sizeof *seq), *tmp = xmalloc(((size_t)nv + 2) * sizeof *tmp);
	double *starts = xmalloc(((size_t)nv + 2) * sizeof *starts);
	unsigned char *ejected = xcalloc((size_t)nv + 1, 1);
	for (int v = 0; v < nv; v++)
		if (agent[v] >= 0)
			count[agent[v] * nw + p->vwindow[v]]++;
	while (changed) {
		changed = 0;
		for (int v = nv - 1; v >= 0; v--) {
			int a = agent[v];
			if (a < 0 || a == p->vorig[v] ||
			    count[a * nw + p->vwindow[v]] <= p->wcap[a * nw + p->vwindow[v]])
				continue;
			count[a * nw + p->vwindow[v]]--;
			agent[v] = p->vorig[v];
			if (agent[v] >= 0)
				count[agent[v] * nw + p->vwindow[v]]++;
			order[v] = 0;
			arrival[v] = -1;
			ejected[v] = 1;
			changed = 1;
		}
	}
	for (int a = 0; a < na; a++) {
		/* The agent's route as it stands, in order, re-timed. */
		int len = 0;
		for (int k = 1; k <= nv; k++)
			for (int v = 0; v < nv; v++)
				if (agent[v] == a && order[v] == k)
					seq[len++] = v;
		/* Visits sent back to this agent, each at its cheapest feasible place. */
		for (int v = 0; v < nv; v++) {
			if (!ejected[v] || agent[v] != a)
				continue;
			double base = plan_route(w, a, seq, len, NULL), best = -1;
			int at = -1;
			for (int i = 0; i <= len; i++) {
				memcpy(tmp, seq, (size_t)i * sizeof *tmp);
				tmp[i] = v;
				memcpy(tmp + i + 1, seq + i, (size_t)(len - i) * sizeof *tmp);
				double d = plan_route(w, a, tmp, len + 1, NULL);
				if (d >= 0 && (at < 0 || d - base < best)) {
					best = d - base;
					at = i;
				}
			}
			if (at >= 0) {
				memmove(seq + at + 1, seq + at, (size_t)(len - at) * sizeof *seq);
				seq[at] = v;
				len++;
			}
		}
		if (plan_route(w, a, seq, len, starts) < 0)
			continue; /* cannot happen: removals keep a route feasible */
		for (int i = 0; i < len; i++) {
			order[seq[i]] = i + 1;
			arrival[seq[i]] = starts[i];
		}
	}
	free(count);
	free(seq);
	free(tmp);
	free(starts);
	free(ejected);
}

/* Road km of all routes given by agent and order. */
static double plan_km(const struct plan_work *w, const int *agent, const int *order)
{
	const struct plan_problem *p = w->p;
	int nv = p->nvisits;
	int *seq = xmalloc(((size_t)nv + 1) * sizeof *seq);
	double minutes = 0;
	for (int a = 0; a < p->nagents; a++) {
		int len = 0;
		for (int k = 1; k <= nv; k++)
			for (int v = 0; v < nv; v++)
				if (agent[v] == a && order[v] == k)
					seq[len++] = v;
		double d = len ? plan_route(w, a, seq, len, NULL) : 0;
		minutes += d > 0 ? d : 0;
	}
	free(seq);
	return minutes * p->speed_kmh / 60.0;
}

/* Solves once and turns the routes into agent/order/arrival (unrouted visits keep vorig). */
static int plan_once(const struct plan_work *w, const vrptw_problem_t *vp, const vrptw_options_t *vo,
                     vrptw_solution_t *sol, int *agent, int *order, double *arrival)
{
	const struct plan_problem *p = w->p;
	int na = p->nagents;
	vrptw_solution_free(sol);
	if (vrptw_solve(vp, vo, sol) != VRPTW_OK)
		return -1;
	for (int v = 0; v < p->nvisits; v++) {
		agent[v] = p->vorig[v];
		order[v] = 0;
		arrival[v] = -1;
	}
	for (int r = 0; r < sol->nroutes; r++)
		for (int i = 0; i < sol->routes[r].len; i++) {
			int v = sol->routes[r].visits[i] - na;
			agent[v] = sol->routes[r].vehicle;
			order[v] = i + 1;
			arrival[v] = sol->routes[r].start[i];
		}
	return 0;
}

int plan_solve(const struct plan_problem *p, const struct plan_options *o, struct plan_result *out)
{
	struct plan_work w;
	vrptw_solution_t sol;
	int rc = -1, na = p->nagents, nv = p->nvisits;
	int max_rounds = o->max_rounds > 0 ? o->max_rounds : PLAN_MAX_ROUNDS;
	int *agent = NULL, *order = NULL, *kagent = NULL, *korder = NULL;
	double *arrival = NULL, *karrival = NULL;
	/* Small zones get a fixed number of steps (deterministic, and quick); large ones the
	 * time limit. */
	long iters = o->max_iterations > 0 ? o->max_iterations : (nv <= 300 ? 2000L * (nv + 10) : 0);

	memset(out, 0, sizeof *out);
	memset(&sol, 0, sizeof sol);
	memset(&w, 0, sizeof w);
	if (!plan_valid(p))
		return -1;
	agent = xmalloc(((size_t)nv + 1) * sizeof *agent);
	order = xcalloc((size_t)nv + 1, sizeof *order);
	arrival = xmalloc(((size_t)nv + 1) * sizeof *arrival);
	for (int v = 0; v < nv; v++) {
		agent[v] = p->vorig[v];
		arrival[v] = -1;
	}
	if (na == 0 || nv == 0) {
		out->unroutable = nv;
		goto done;
	}
	plan_work_init(&w, p);
	/* The per-window units are a native constraint of the planner: class = window. */
	vrptw_problem_t vp = {.n = w.n,
	                      .ndepots = na,
	                      .travel = w.travel,
	                      .demand = w.demand,
	                      .ready = w.ready,
	                      .due = w.due,
	                      .service = w.service,
	                      .nvehicles = na,
	                      .capacity = 0,
	                      .vehicle_capacity = w.vcap,
	                      .vehicle_start = w.vstart,
	                      .vehicle_end = w.vstart,
	                      .shift_start = p->shift_start,
	                      .shift_end = p->shift_end,
	                      .can_serve = w.can,
	                      .nclasses = p->nwindows,
	                      .visit_class = w.vclass,
	                      .class_capacity = p->wcap,
	                      .class_holder = w.initial};
	vrptw_options_t vo;

	/* The current assignment, only re-ordered: the plan to beat (and the whole answer when
	 * fixed). A fifth of the time when it is only the reference. */
	vrptw_options_init(&vo);
	vo.seed = o->seed;
	vo.initial_vehicle = w.initial;
	vo.time_limit_s = o->time_limit_s * (o->fixed ? 1.0 : 0.2);
	vo.max_iterations = iters > 0 ? (o->fixed ? iters : iters / 4) : 0;
	if (vo.time_limit_s < 0.01)
		vo.time_limit_s = 0.01;
	plan_work_can(&w, 1);
	if (plan_once(&w, &vp, &vo, &sol, agent, order, arrival) != 0)
		goto out;
	out->rounds = 1;
	if (o->fixed)
		goto measured;
	kagent = agent;
	korder = order;
	karrival = arrival;
	agent = xmalloc(((size_t)nv + 1) * sizeof *agent);
	order = xcalloc((size_t)nv + 1, sizeof *order);
	arrival = xmalloc(((size_t)nv + 1) * sizeof *arrival);

	/* The free plan, starting from the current assignment. The ledger holds by
	 * construction; the re-planning rounds and plan_eject below stay as a safety net. */
	for (int round = 0;; round++) {
		vrptw_options_init(&vo);
		vo.seed = o->seed + (unsigned long long)round;
		vo.initial_vehicle = w.initial;
		vo.time_limit_s = o->time_limit_s * (round == 0 ? 0.8 : 0.1);
		vo.max_iterations = iters > 0 ? (round == 0 ? iters : iters / 4) : 0;
		if (vo.time_limit_s < 0.01)
			vo.time_limit_s = 0.01;
		plan_work_can(&w, 0);
		if (plan_once(&w, &vp, &vo, &sol, agent, order, arrival) != 0)
			goto out;
		out->rounds = round + 1;
		if (plan_ledger_check(p, agent, NULL, 0) == 0)
			break;
		out->repaired = 1;
		if (round + 1 >= max_rounds) {
			plan_eject(&w, agent, order, arrival);
			break;
		}
		plan_work_restrict(&w, agent, round);
	}

	/* Keep the new plan only if it serves more visits, or as many in less travel. */
	{
		int routed = 0, krouted = 0;
		for (int v = 0; v < nv; v++) {
			routed += order[v] > 0;
			krouted += korder[v] > 0;
		}
		double km = plan_km(&w, agent, order), kkm = plan_km(&w, kagent, korder);
		if (routed < krouted || (routed == krouted && km >= kkm - 1e-9)) {
			int *ti = agent;
			double *td = arrival;
			agent = kagent;
			kagent = ti;
			ti = order;
			order = korder;
			korder = ti;
			arrival = karrival;
			karrival = td;
			out->kept = 1;
		}
	}
measured:
	out->travel_km = plan_km(&w, agent, order);
done:
	for (int v = 0; v < nv; v++) {
		out->routed += order[v] > 0;
		out->unroutable += order[v] == 0 && na > 0;
		out->moved += agent[v] != p->vorig[v];
	}
	out->agent = agent;
	out->order = order;
	out->arrival = arrival;
	agent = order = NULL;
	arrival = NULL;
	rc = 0;
out:
	vrptw_solution_free(&sol);
	if (na > 0 && nv > 0)
		plan_work_free(&w);
	free(agent);
	free(order);
	free(arrival);
	free(kagent);
	free(korder);
	free(karrival);
	return rc;
}

/* ---- the database part ---- */

/* One zone's day as read from the database. */
struct plan_day {
	long long zone_id, district_id;
	double t0; /* epoch seconds of local midnight: times are minutes after it */
	char tz[64];
	int nv, na, nw;
	long long *bid;   /* booking ids */
	long long *borig; /* agent id holding the unit */
	char **bstatus;
	long long *aid; /* agent ids */
	double *wstart; /* window starts (minutes) */
	double *vlat, *vlon, *ready, *due, *service, *alat, *alon, *ss, *se;
	int *vwindow, *vorig, *wcap;
	unsigned char *vfrozen, *capable;
};

static void plan_day_free(struct plan_day *d)
{
	for (int i = 0; d->bstatus && i < d->nv; i++)
		free(d->bstatus[i]);
	free(d->bstatus);
	free(d->bid);
	free(d->borig);
	free(d->aid);
	free(d->wstart);
	free(d->vlat);
	free(d->vlon);
	free(d->ready);
	free(d->due);
	free(d->service);
	free(d->alat);
	free(d->alon);
	free(d->ss);
	free(d->se);
	free(d->vwindow);
	free(d->vorig);
	free(d->wcap);
	free(d->vfrozen);
	free(d->capable);
	memset(d, 0, sizeof *d);
}

/* The agents who work in the zone that day: active, with a shift, not marked unavailable. */
#define PLAN_AGENTS                                                                                                    \
	"SELECT a.id, a.base, a.skills, s.day, s.start_local, s.end_local FROM agent a "                               \
	"  JOIN agent_shift s ON s.agent_id = a.id AND s.day = $2::date "                                              \
	" WHERE a.zone_id = $1 AND a.active "                                                                          \
	"   AND NOT EXISTS (SELECT 1 FROM agent_unavailable u WHERE u.agent_id = a.id AND u.day = $2::date)"

static int plan_window_index(struct plan_day *d, double start)
{
	for (int i = 0; i < d->nw; i++)
		if (fabs(d->wstart[i] - start) < 1e-6)
			return i;
	d->wstart = xrealloc(d->wstart, (size_t)(d->nw + 1) * sizeof *d->wstart);
	d->wstart[d->nw] = start;
	return d->nw++;
}

static int plan_agent_index(const struct plan_day *d, long long id)
{
	for (int i = 0; i < d->na; i++)
		if (d->aid[i] == id)
			return i;
	return -1;
}

static enum db_status plan_load(const char *zone_code, const char *day, long long district_id, struct plan_day *d,
                                int *found)
{
	static const char q_zone[] = "SELECT z.id, z.district_id, d.time_zone, extract(epoch FROM ($2::date::timestamp "
	                             "AT TIME ZONE d.time_zone)) "
	                             "FROM zone z JOIN district d ON d.id = z.district_id WHERE z.code = $1 AND "
	                             "($3::int = 0 OR z.district_id = $3::int)";
	static const char q_agents[] =
	    "SELECT x.id, ST_Y(x.base::geometry), ST_X(x.base::geometry), "
	    "       (extract(epoch FROM ((x.day + x.start_local) AT TIME ZONE $3)) - $4::float8) / 60, "
	    "       (extract(epoch FROM ((x.day + x.end_local) AT TIME ZONE $3)) - $4::float8) / 60 "
	    "FROM (" PLAN_AGENTS ") x ORDER BY x.id";
	/* The zone's visits of the day that the plan may order: booked (movable) and assigned
	 * (frozen: they keep their agent), each with the agents whose skills fit, as a string
	 * of 0/1 in the order of q_agents. */
	static const char q_visits[] =
	    "SELECT b.id, ST_Y(b.location), ST_X(b.location), "
	    "       (extract(epoch FROM b.window_start) - $4::float8) / 60, (extract(epoch FROM b.window_end) - "
	    "$4::float8) / 60, "
	    "       s.visit_minutes, b.agent_id, b.status, "
	    "       (SELECT coalesce(string_agg(CASE WHEN x.skills && ARRAY[b.service_code, s.department, '*'] THEN "
	    "'1' ELSE '0' END, "
	    "                                   '' ORDER BY x.id), '') FROM (" PLAN_AGENTS ") x) "
	    "FROM booking b JOIN service s ON s.code = b.service_code "
	    "WHERE b.zone_id = $1 AND b.status IN ('booked', 'assigned') "
	    "  AND b.window_start >= to_timestamp($4::float8) AND b.window_start < to_timestamp($4::float8) + interval "
	    "'1 day' + interval '1 hour' "
	    "  AND (b.window_start AT TIME ZONE $3)::date = $2::date "
	    "ORDER BY b.id";
	/* The units of each window: capacity less what bookings outside this plan hold. */
	static const char q_windows[] =
	    "SELECT w.agent_id, (extract(epoch FROM w.starts_at) - $4::float8) / 60, w.capacity - w.booked + "
	    "       (SELECT count(*) FROM booking b WHERE b.agent_id = w.agent_id AND b.window_start = w.starts_at "
	    "           AND b.zone_id = $1 AND b.status IN ('booked', 'assigned'))::int "
	    "FROM agent_window w WHERE w.agent_id IN (SELECT id FROM (" PLAN_AGENTS ") x) "
	    "  AND (w.starts_at AT TIME ZONE $3)::date = $2::date";
	char dist[24], zid[24], t0[40];
	enum db_status st;
	PGresult *res = NULL;

	memset(d, 0, sizeof *d);
	*found = 0;
	snprintf(dist, sizeof dist, "%lld", district_id);
	const char *zp[] = {zone_code, day, dist};
	res = db_exec(q_zone, 3, zp, &st);
	if (st != DB_OK || PQntuples(res) != 1)
		goto out;
	*found = 1;
	d->zone_id = db_get_ll(res, 0, 0);
	d->district_id = db_get_ll(res, 0, 1);
	snprintf(d->tz, sizeof d->tz, "%s", db_get(res, 0, 2));
	d->t0 = strtod(db_get(res, 0, 3), NULL);
	PQclear(res);
	snprintf(zid, sizeof zid, "%lld", d->zone_id);
	snprintf(t0, sizeof t0, "%.0f", d->t0);
	const char *p[] = {zid, day, d->tz, t0};

	res = db_exec(q_agents, 4, p, &st);
	if (st != DB_OK)
		goto out;
	d->na = PQntuples(res);
	d->aid = xcalloc((size_t)d->na + 1, sizeof *d->aid);
	d->alat = xcalloc((size_t)d->na + 1, sizeof *d->alat);
	d->alon = xcalloc((size_t)d->na + 1, sizeof *d->alon);
	d->ss = xcalloc((size_t)d->na + 1, sizeof *d->ss);
	d->se = xcalloc((size_t)d->na + 1, sizeof *d->se);
	for (int i = 0; i < d->na; i++) {
		d->aid[i] = db_get_ll(res, i, 0);
		d->alat[i] = strtod(db_get(res, i, 1), NULL);
		d->alon[i] = strtod(db_get(res, i, 2), NULL);
		d->ss[i] = strtod(db_get(res, i, 3), NULL);
		d->se[i] = strtod(db_get(res, i, 4), NULL);
	}
	PQclear(res);

	res = db_exec(q_visits, 4, p, &st);
	if (st != DB_OK)
		goto out;
	d->nv = PQntuples(res);
	size_t nv1 = (size_t)d->nv + 1;
	d->bid = xcalloc(nv1, sizeof *d->bid);
	d->borig = xcalloc(nv1, sizeof *d->borig);
	d->bstatus = xcalloc(nv1, sizeof *d->bstatus);
	d->vlat = xcalloc(nv1, sizeof *d->vlat);
	d->vlon = xcalloc(nv1, sizeof *d->vlon);
	d->ready = xcalloc(nv1, sizeof *d->ready);
	d->due = xcalloc(nv1, sizeof *d->due);
	d->service = xcalloc(nv1, sizeof *d->service);
	d->vwindow = xcalloc(nv1, sizeof *d->vwindow);
	d->vorig = xcalloc(nv1, sizeof *d->vorig);
	d->vfrozen = xcalloc(nv1, 1);
	d->capable = xcalloc((size_t)d->na * nv1 + 1, 1);
	for (int v = 0; v < d->nv; v++) {
		d->bid[v] = db_get_ll(res, v, 0);
		d->vlat[v] = strtod(db_get(res, v, 1), NULL);
		d->vlon[v] = strtod(db_get(res, v, 2), NULL);
		d->ready[v] = strtod(db_get(res, v, 3), NULL);
		d->due[v] = strtod(db_get(res, v, 4), NULL);
		d->service[v] = strtod(db_get(res, v, 5), NULL);
		d->borig[v] = db_get_ll(res, v, 6);
		d->bstatus[v] = xstrdup(db_get(res, v, 7));
		d->vfrozen[v] = strcmp(d->bstatus[v], "assigned") == 0;
		d->vorig[v] = plan_agent_index(d, d->borig[v]);
		d->vwindow[v] = plan_window_index(d, d->ready[v]);
		const char *can = db_get(res, v, 8);
		for (int a = 0; a < d->na && can && can[a]; a++)
			d->capable[(size_t)a * (size_t)d->nv + (size_t)v] = can[a] == '1';
	}
	PQclear(res);

	res = db_exec(q_windows, 4, p, &st);
	if (st != DB_OK)
		goto out;
	/* Windows without visits matter to nobody; only the visits' windows are indexed. */
	int nw_visits = d->nw;
	d->wcap = xcalloc((size_t)d->na * (size_t)(nw_visits + 1) + 1, sizeof *d->wcap);
	for (int i = 0; i < PQntuples(res); i++) {
		int a = plan_agent_index(d, db_get_ll(res, i, 0));
		double start = strtod(db_get(res, i, 1), NULL);
		int k;
		for (k = 0; k < nw_visits; k++)
			if (fabs(d->wstart[k] - start) < 1e-6)
				break;
		long units = strtol(db_get(res, i, 2), NULL, 10);
		if (a >= 0 && k < nw_visits)
			d->wcap[a * nw_visits + k] = units > 0 ? (int)units : 0;
	}
out:
	PQclear(res);
	return st;
}

/* Appends one element of a PostgreSQL array literal. */
static void plan_array_add(buf_t *b, const char *value)
{
	buf_puts(b, b->len > 1 ? "," : "");
	buf_puts(b, value);
}

/* Writes the plan back in one transaction. *stale = 1 when the bookings or the ledger
 * changed since they were read (the caller plans again). */
static enum db_status plan_write(const struct plan_day *d, const struct plan_result *res, const char *day,
                                 const char *actor_role, long long actor_id, double seconds, int *stale)
{
	static const char q_lock[] = "SELECT b.id FROM booking b JOIN unnest($1::bigint[], $2::int[], $3::text[]) "
	                             "u(id, agent, status) ON b.id = u.id "
	                             "WHERE b.agent_id = u.agent AND b.status = u.status ORDER BY b.id FOR UPDATE OF b";
	static const char q_lock_windows[] = "SELECT 1 FROM agent_window WHERE agent_id = ANY($1::int[]) AND "
	                                     "(starts_at AT TIME ZONE $2)::date = $3::date "
	                                     "ORDER BY agent_id, starts_at FOR UPDATE";
	/* Units go back first, then the new ones are taken: swaps within a full window work,
	 * and the ledger's CHECK refuses the plan if a booking came in meanwhile. An agent
	 * marked unavailable keeps capacity = booked. */
	static const char q_release[] =
	    "UPDATE agent_window w SET booked = w.booked - m.n, "
	    "       capacity = w.capacity - CASE WHEN EXISTS (SELECT 1 FROM agent_unavailable x WHERE x.agent_id = "
	    "w.agent_id "
	    "                                                   AND x.day = $4::date) THEN m.n ELSE 0 END "
	    "FROM (SELECT u.old, b.window_start, count(*)::int AS n FROM unnest($1::bigint[], $2::int[], $3::int[]) "
	    "u(id, old, new) "
	    "        JOIN booking b ON b.id = u.id WHERE u.old <> u.new GROUP BY 1, 2) m "
	    "WHERE w.agent_id = m.old AND w.starts_at = m.window_start";
	static const char q_take[] = "UPDATE agent_window w SET booked = w.booked + m.n "
	                             "FROM (SELECT u.new, b.window_start, count(*)::int AS n FROM unnest($1::bigint[], "
	                             "$2::int[], $3::int[]) u(id, old, new) "
	                             "        JOIN booking b ON b.id = u.id WHERE u.old <> u.new GROUP BY 1, 2) m "
	                             "WHERE w.agent_id = m.new AND w.starts_at = m.window_start";
	/* Each moved visit is the booking change BOOKING_PLAN, recorded set-wise ($7: its action). */
	static const char q_events[] =
	    "WITH m AS (SELECT b.id, b.status, oa.code AS old_code, na.code AS new_code "
	    "             FROM unnest($1::bigint[], $2::int[], $3::int[]) u(id, old, new) JOIN booking b ON b.id = "
	    "u.id "
	    "             JOIN agent oa ON oa.id = u.old JOIN agent na ON na.id = u.new WHERE u.old <> u.new) "
	    "SELECT booking_change_record(m.id, $7, m.status, m.status, $4, $5, $6, "
	    "                             'plan: ' || m.old_code || ' -> ' || m.new_code, NULL, "
	    "                             jsonb_build_object('from_agent', m.old_code, 'to_agent', m.new_code, 'by', "
	    "'plan')) "
	    "FROM m ORDER BY m.id";
	static const char q_update[] =
	    "UPDATE booking b SET agent_id = u.new, route_order = u.ord, "
	    "       planned_arrival = CASE WHEN u.ord IS NULL THEN NULL ELSE to_timestamp($5::float8 + u.arr * 60) "
	    "END, "
	    "       needs_attention = CASE WHEN u.ord IS NOT NULL THEN NULL "
	    "                              WHEN b.needs_attention IN ('agent_unavailable', 'frozen_agent_unavailable') "
	    "THEN b.needs_attention "
	    "                              ELSE 'unroutable' END, "
	    "       attention_at = CASE WHEN u.ord IS NOT NULL THEN NULL WHEN b.needs_attention IS NULL THEN "
	    "$6::timestamptz "
	    "                           ELSE b.attention_at END, "
	    "       updated_at = $6 "
	    "FROM unnest($1::bigint[], $2::int[], $3::int[], $4::float8[]) u(id, new, ord, arr) WHERE b.id = u.id";
	static const char q_run[] =
	    "WITH r AS (INSERT INTO plan_run (district_id, zone_id, day, visits, agents, routed, moved, unroutable, "
	    "travel_km, "
	    "                                 seconds, rounds, actor_role, actor_id, created_at) "
	    "           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id) "
	    "SELECT audit_write($1, $14, $12, $13, 'plan.run', 'zone', (SELECT code FROM zone WHERE id = $2), "
	    "                   jsonb_build_object('plan_run', r.id, 'day', $3::text, 'visits', $4::int, 'moved', "
	    "$7::int, "
	    "                                      'unroutable', $8::int)) FROM r";
	buf_t ids, olds, news, statuses, ords, arrs, agents;
	char num[64], now[40], t0[40], actor[24];
	enum db_status st;
	PGresult *r = NULL;

	*stale = 0;
	/* Who plans must be allowed to move visits (an officer, an admin, the nightly run). */
	const struct booking_transition *t = booking_transition_find(BOOKING_PLAN, "booked", "booked");
	int role = strcmp(actor_role, "system") == 0 ? BOOKING_BY_SYSTEM : auth_role_parse(actor_role);
	if (!booking_transition_allows(t, role))
		return DB_FAILED;
	buf_init(&ids, 0);
	buf_init(&olds, 0);
	buf_init(&news, 0);
	buf_init(&statuses, 0);
	buf_init(&ords, 0);
	buf_init(&arrs, 0);
	buf_init(&agents, 0);
	buf_puts(&ids, "{");
	buf_puts(&olds, "{");
	buf_puts(&news, "{");
	buf_puts(&statuses, "{");
	buf_puts(&ords, "{");
	buf_puts(&arrs, "{");
	buf_puts(&agents, "{");
	for (int v = 0; v < d->nv; v++) {
		snprintf(num, sizeof num, "%lld", d->bid[v]);
		plan_array_add(&ids, num);
		snprintf(num, sizeof num, "%lld", d->borig[v]);
		plan_array_add(&olds, num);
		snprintf(num, sizeof num, "%lld", res->agent[v] >= 0 ? d->aid[res->agent[v]] : d->borig[v]);
		plan_array_add(&news, num);
		plan_array_add(&statuses, d->bstatus[v]);
		snprintf(num, sizeof num, "%d", res->order[v]);
		plan_array_add(&ords, res->order[v] > 0 ? num : "NULL");
		snprintf(num, sizeof num, "%.3f", res->arrival[v]);
		plan_array_add(&arrs, res->order[v] > 0 ? num : "NULL");
	}
	for (int a = 0; a < d->na; a++) {
		snprintf(num, sizeof num, "%lld", d->aid[a]);
		plan_array_add(&agents, num);
	}
	for (int v = 0; v < d->nv; v++) { /* agents that only give units back */
		snprintf(num, sizeof num, "%lld", d->borig[v]);
		plan_array_add(&agents, num);
	}
	buf_puts(&ids, "}");
	buf_puts(&olds, "}");
	buf_puts(&news, "}");
	buf_puts(&statuses, "}");
	buf_puts(&ords, "}");
	buf_puts(&arrs, "}");
	buf_puts(&agents, "}");
	clock_now_text(now, sizeof now);
	snprintf(t0, sizeof t0, "%.0f", d->t0);
	snprintf(actor, sizeof actor, "%lld", actor_id);

	st = db_begin();
	if (st != DB_OK)
		goto out;
	const char *lp[] = {ids.data, olds.data, statuses.data};
	r = db_exec(q_lock, 3, lp, &st);
	if (st != DB_OK)
		goto out;
	if (PQntuples(r) != d->nv) {
		*stale = 1;
		goto out;
	}
	PQclear(r);
	r = NULL;
	const char *wp[] = {agents.data, d->tz, day};
	st = db_run(q_lock_windows, 3, wp);
	if (st != DB_OK)
		goto out;
	const char *mp[] = {ids.data, olds.data, news.data, day};
	st = db_run(q_release, 4, mp);
	if (st != DB_OK)
		goto out;
	st = db_run(q_take, 3, mp);
	if (st != DB_OK) {
		if (st == DB_CONSTRAINT) { /* a booking took a unit meanwhile */
			*stale = 1;
			st = DB_OK;
		}
		goto out;
	}
	const char *ep[] = {ids.data, olds.data, news.data, actor_role, actor, now, t->action};
	st = db_run(q_events, 7, ep);
	if (st != DB_OK)
		goto out;
	const char *up[] = {ids.data, news.data, ords.data, arrs.data, t0, now};
	st = db_run(q_update, 6, up);
	if (st != DB_OK)
		goto out;
	struct db_args run = {0};
	db_arg_ll(&run, d->district_id);
	db_arg_ll(&run, d->zone_id);
	db_arg_text(&run, day);
	db_arg_ll(&run, d->nv);
	db_arg_ll(&run, d->na);
	db_arg_ll(&run, res->routed);
	db_arg_ll(&run, res->moved);
	db_arg_ll(&run, res->unroutable);
	db_arg_double(&run, res->travel_km);
	db_arg_double(&run, seconds);
	db_arg_ll(&run, res->rounds);
	db_arg_text(&run, actor_role);
	db_arg_ll(&run, actor_id);
	db_arg_text(&run, now);
	st = db_run(q_run, run.n, run.v);
	if (st != DB_OK)
		goto out;
	st = db_commit();
out:
	if (st != DB_OK || *stale)
		db_rollback();
	PQclear(r);
	buf_free(&ids);
	buf_free(&olds);
	buf_free(&news);
	buf_free(&statuses);
	buf_free(&ords);
	buf_free(&arrs);
	buf_free(&agents);
	return st;
}

static double plan_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void plan_problem_of(const struct plan_day *d, struct plan_problem *p)
{
	memset(p, 0, sizeof *p);
	p->nvisits = d->nv;
	p->nagents = d->na;
	p->nwindows = d->nw;
	p->vlat = d->vlat;
	p->vlon = d->vlon;
	p->ready = d->ready;
	p->due = d->due;
	p->service = d->service;
	p->vwindow = d->vwindow;
	p->vorig = d->vorig;
	p->vfrozen = d->vfrozen;
	p->capable = d->capable;
	p->alat = d->alat;
	p->alon = d->alon;
	p->shift_start = d->ss;
	p->shift_end = d->se;
	p->wcap = d->wcap;
	p->road_factor = cfg.travel_road_factor;
	p->speed_kmh = cfg.travel_speed_kmh;
}

enum db_status plan_zone_day(const char *zone_code, const char *day, long long district_id, const char *actor_role,
                             long long actor_id, const struct plan_options *o, int baseline, struct plan_report *rep,
                             int *found)
{
	enum db_status st = DB_OK;
	struct plan_day d;
	struct plan_problem p;
	struct plan_result res;

	memset(rep, 0, sizeof *rep);
	memset(&d, 0, sizeof d);
	memset(&res, 0, sizeof res);
	snprintf(rep->zone, sizeof rep->zone, "%s", zone_code);
	snprintf(rep->day, sizeof rep->day, "%s", day);
	for (int attempt = 0; attempt < PLAN_TRIES; attempt++) {
		int stale = 0;
		double t = plan_now_s();
		plan_day_free(&d);
		plan_result_free(&res);
		st = plan_load(zone_code, day, district_id, &d, found);
		if (st != DB_OK || !*found)
			goto out;
		plan_problem_of(&d, &p);
		if (baseline) {
			struct plan_options bo = *o;
			struct plan_result base;
			bo.fixed = 1;
			if (plan_solve(&p, &bo, &base) != 0) {
				st = DB_FAILED;
				goto out;
			}
			rep->baseline_km = base.travel_km;
			plan_result_free(&base);
		}
		t = plan_now_s(); /* the plan's own time, without the baseline's */
		if (plan_solve(&p, o, &res) != 0) {
			log_error("plan: the planner failed on zone %s, %s", zone_code, day);
			st = DB_FAILED;
			goto out;
		}
		rep->seconds = plan_now_s() - t;
		st = plan_write(&d, &res, day, actor_role, actor_id, rep->seconds, &stale);
		if (st != DB_OK)
			goto out;
		if (!stale)
			break;
		log_info("plan: zone %s, %s changed while it was planned; planning again", zone_code, day);
		st = DB_RETRY;
	}
	rep->visits = d.nv;
	rep->agents = d.na;
	rep->routed = res.routed;
	rep->moved = res.moved;
	rep->unroutable = res.unroutable;
	rep->rounds = res.rounds;
	rep->travel_km = res.travel_km;
out:
	plan_day_free(&d);
	plan_result_free(&res);
	return st;
}

/* ---- mitan plan --date ---- */

int plan_main(int argc, char **argv)
{
	static const char q_zones[] =
	    "SELECT z.code FROM zone z JOIN district d ON d.id = z.district_id "
	    "WHERE ($2::text IS NULL OR z.code = $2) AND EXISTS (SELECT 1 FROM booking b WHERE b.zone_id = z.id "
	    "  AND b.status IN ('booked', 'assigned') AND (b.window_start AT TIME ZONE d.time_zone)::date = $1::date) "
	    "   OR z.code = $2 ORDER BY z.code";
	const char *day = NULL, *zone = NULL;
	struct plan_options o = {
	    .seed = 1, .time_limit_s = (double)cfg.plan_time_limit_s, .max_rounds = PLAN_MAX_ROUNDS};
	int baseline = 0, rc = 0;
	enum db_status st;

	for (int i = 0; i < argc; i++) {
		long v;
		if (strcmp(argv[i], "--date") == 0 && i + 1 < argc)
			day = argv[++i];
		else if (strcmp(argv[i], "--zone") == 0 && i + 1 < argc)
			zone = argv[++i];
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc && parse_long(argv[++i], 0, 1L << 30, &v) == 0)
			o.seed = (unsigned long long)v;
		else if (strcmp(argv[i], "--time-limit") == 0 && i + 1 < argc &&
		         parse_long(argv[++i], 1, 3600, &v) == 0)
			o.time_limit_s = (double)v;
		else if (strcmp(argv[i], "--baseline") == 0)
			baseline = 1;
		else {
			fprintf(stderr, "usage: mitan plan --date YYYY-MM-DD [--zone Z] [--seed S] [--time-limit "
			                "SECONDS] [--baseline]\n");
			return 2;
		}
	}
	if (!day || strlen(day) != 10 || strspn(day, "0123456789-") != 10) {
		fprintf(stderr, "mitan plan: --date YYYY-MM-DD is required\n");
		return 2;
	}
	const char *zp[] = {day, zone};
	PGresult *zones = db_exec(q_zones, 2, zp, &st);
	if (st != DB_OK) {
		fprintf(stderr, "mitan plan: cannot read the zones (%s)\n",
		        st == DB_BAD_INPUT ? "bad date" : "database error");
		return 1;
	}
	if (zone && PQntuples(zones) == 0) {
		fprintf(stderr, "mitan plan: no zone %s\n", zone);
		PQclear(zones);
		return 2;
	}
	for (int i = 0; i < PQntuples(zones); i++) {
		struct plan_report rep;
		int found = 0;
		st = plan_zone_day(db_get(zones, i, 0), day, 0, "admin", 0, &o, baseline, &rep, &found);
		if (st != DB_OK || !found) {
			fprintf(stderr, "mitan plan: zone %s failed (database status %d)\n", db_get(zones, i, 0),
			        (int)st);
			rc = 1;
			continue;
		}
		printf("{\"zone\":\"%s\",\"date\":\"%s\",\"visits\":%d,\"agents\":%d,\"routed\":%d,\"moved\":%d,"
		       "\"unroutable\":%d,\"rounds\":%d,\"travel_km\":%.3f,",
		       rep.zone, rep.day, rep.visits, rep.agents, rep.routed, rep.moved, rep.unroutable, rep.rounds,
		       rep.travel_km);
		if (baseline)
			printf("\"baseline_km\":%.3f,", rep.baseline_km);
		printf("\"seconds\":%.3f}\n", rep.seconds);
		fflush(stdout);
	}
	PQclear(zones);
	return rc;
}
