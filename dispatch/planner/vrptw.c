/*
 * vrptw - ruin-and-recreate planner for the VRP with time windows.
 *
 * Solution representation: one array per vehicle, [start depot, visits...,
 * end depot], with per position the earliest service start (forward pass) and
 * the latest service start that keeps the rest of the route feasible
 * (backward pass). Those two make an insertion feasibility test O(1).
 *
 * Search: SISR (Christiaens & Vanden Berghe 2020). Each step removes a few
 * strings of consecutive visits from routes near a random seed visit, then
 * reinserts the removed visits greedily in a random-ish order, each at its
 * cheapest feasible place, skipping places with a small "blink" probability.
 * The result is accepted by simulated annealing. Only the routes a step
 * touched are copied back and forth, so a step costs O(touched routes).
 * The best plan is polished with relocate and 2-opt* moves at the end.
 */
#include "planner/vrptw.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Slack for floating-point comparisons of times: the solver is stricter than
 * the checkers (1e-6), so a plan it makes always passes them. */
#define EPS 1e-9
/* SISR parameters (paper's defaults unless noted). */
#ifndef SISR_CBAR
#define SISR_CBAR 10.0 /* average number of removed visits */
#endif
#ifndef SISR_LMAX
#define SISR_LMAX 10.0 /* longest removed string */
#endif
#ifndef SISR_SPLIT
#define SISR_SPLIT 0.5 /* probability of the split-string variant */
#endif
#ifndef SISR_BETA
#define SISR_BETA 0.01 /* split depth: chance to stop growing the kept part */
#endif
#ifndef SISR_BLINK
#define SISR_BLINK 0.01 /* chance to skip an insertion place */
#endif
/* Annealing temperatures, in units of the mean edge of the start plan
 * (measured on the Solomon set: 1..5 -> 0.01..0.03 all do well; the
 * 0.1 -> 0.001 tried first was twice as far from the best knowns). */
#ifndef SA_T0
#define SA_T0 3.0
#endif
#ifndef SA_TF
#define SA_TF 0.03
#endif
/* Nearest-neighbour lists are capped so memory stays O(n) for big zones. */
#define ADJ_MAX 128
/* Refuse problems whose route tables (vehicles x longest possible route)
 * would exceed this many entries: ~20 bytes each, three plans. */
#define MAX_CELLS (4L * 1024 * 1024)

/* ---- PRNG: xoshiro256** seeded with splitmix64, so runs are reproducible
 * on every platform (rand() is not). */
typedef struct rng {
	uint64_t s[4];
} rng_t;

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng_t *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, 1). */
static double rng_unif(rng_t *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, k), k >= 1. */
static int rng_int(rng_t *r, int k)
{
	return (int)(((rng_next(r) >> 32) * (uint64_t)k) >> 32);
}

/* ---- Problem context: the problem with defaults resolved. */
typedef struct ctx {
	const vrptw_problem_t *p;
	int n, nd, nv;
	const double *t;
	int *cap;        /* nv */
	int *vs, *ve;    /* nv start/end depot */
	double *ss, *se; /* nv shift */
	int *vclass;     /* nv: vehicles with equal attributes share a class */
	int nclass;
	int *custs; /* servable visits */
	int ncust;
	int *unserv; /* visits no vehicle can serve even alone */
	int nunserv;
	int *adj; /* ncust x adjlen nearest servable visits (self first) */
	int adjlen;
	int *cidx;       /* n: index of a node in custs, -1 if none */
	double *ddist;   /* n: distance to the nearest start depot */
	size_t stride;   /* entries per route array */
	int ncl;         /* visit classes with a per-vehicle capacity; 0 = none */
	const int *vcl;  /* n: class of a node, -1 = none (NULL when ncl 0) */
	const int *ccap; /* nv*ncl capacities */
	const int *hv;   /* n: holder of an absent visit's class unit, or NULL */
	int *ctmp;       /* ncl scratch counts */
} ctx_t;

/* A plan. Route r's arrays live at [r*stride, r*stride + len[r] + 2). */
typedef struct sol {
	int *node;
	double *early; /* earliest service start at each position */
	double *late;  /* latest service start keeping the suffix feasible */
	int *len, *load;
	int *ccount; /* nv*ncl: visits of each class per route */
	int *hold;   /* nv*ncl: absent visits still holding a unit there */
	double *dist;
	int *route_of, *pos_of; /* n; route_of -1 = not routed */
	int *absent;            /* servable visits not routed */
	int nabsent;
	double total;
} sol_t;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double dmax(double a, double b)
{
	return a > b ? a : b;
}

static double dmin(double a, double b)
{
	return a < b ? a : b;
}

static int veh_can(const ctx_t *c, int v, int u)
{
	return c->p->can_serve == NULL || c->p->can_serve[(size_t)v * (size_t)c->n + (size_t)u] != 0;
}

/* The vehicle whose class unit absent visit u holds, or -1. */
static int holder_of(const ctx_t *c, int u)
{
	if (c->hv == NULL || c->vcl[u] < 0 || c->hv[u] < 0 || c->hv[u] >= c->nv)
		return -1;
	return c->hv[u];
}

/* Has route r room in u's class for absent visit u? Counts the routed
 * visits and the absent ones holding a unit; u's own hold moves with it. */
static int class_room(const ctx_t *c, const int *cnt, const int *hold, int r, int u)
{
	if (c->ncl == 0)
		return 1;
	int k = c->vcl[u];
	if (k < 0)
		return 1;
	size_t cell = (size_t)r * (size_t)c->ncl + (size_t)k;
	return cnt[cell] + hold[cell] + (holder_of(c, u) == r ? 0 : 1) <= c->ccap[cell];
}

/* Absent visit u takes (+1) or gives back (-1) the unit it holds. */
static void hold_add(const ctx_t *c, int *hold, int u, int d)
{
	int h = holder_of(c, u);
	if (h >= 0)
		hold[(size_t)h * (size_t)c->ncl + (size_t)c->vcl[u]] += d;
}

/* ---- Validation */

static int valid_time(double x)
{
	return isfinite(x);
}

static int problem_valid(const vrptw_problem_t *p)
{
	if (p == NULL || p->n < 1 || p->ndepots < 1 || p->ndepots > p->n || p->nvehicles < 0 || p->travel == NULL ||
	    p->demand == NULL || p->ready == NULL || p->due == NULL || p->service == NULL || p->capacity < 0)
		return 0;
	/* n*n must fit comfortably; the caller had to allocate it anyway. */
	if ((size_t)p->n > 46340)
		return 0;
	size_t nn = (size_t)p->n * (size_t)p->n;
	for (size_t i = 0; i < nn; i++)
		if (!(p->travel[i] >= 0.0) || !isfinite(p->travel[i]))
			return 0;
	for (int i = 0; i < p->n; i++) {
		if (p->demand[i] < 0 || !valid_time(p->ready[i]) || !valid_time(p->due[i]) ||
		    !valid_time(p->service[i]) || p->service[i] < 0.0)
			return 0;
	}
	for (int v = 0; v < p->nvehicles; v++) {
		if (p->vehicle_capacity && p->vehicle_capacity[v] < 0)
			return 0;
		if (p->vehicle_start && (p->vehicle_start[v] < 0 || p->vehicle_start[v] >= p->ndepots))
			return 0;
		if (p->vehicle_end && (p->vehicle_end[v] < 0 || p->vehicle_end[v] >= p->ndepots))
			return 0;
		if (p->shift_start && !valid_time(p->shift_start[v]))
			return 0;
		if (p->shift_end && !valid_time(p->shift_end[v]))
			return 0;
	}
	if (p->nclasses < 0)
		return 0;
	if (p->nclasses > 0 && p->visit_class && p->class_capacity) {
		for (int i = 0; i < p->n; i++)
			if (p->visit_class[i] < -1 || p->visit_class[i] >= p->nclasses)
				return 0;
		size_t cells = (size_t)p->nvehicles * (size_t)p->nclasses;
		for (size_t i = 0; i < cells; i++)
			if (p->class_capacity[i] < 0)
				return 0;
	}
	return 1;
}

/* The class limits apply only when all three fields are given. */
static int has_classes(const vrptw_problem_t *p)
{
	return p->nclasses > 0 && p->visit_class != NULL && p->class_capacity != NULL;
}

/* ---- Context */

static void ctx_free(ctx_t *c)
{
	free(c->cap);
	free(c->vs);
	free(c->ve);
	free(c->ss);
	free(c->se);
	free(c->vclass);
	free(c->custs);
	free(c->unserv);
	free(c->adj);
	free(c->cidx);
	free(c->ddist);
	free(c->ctmp);
	memset(c, 0, sizeof(*c));
}

/* Can visit u be served by vehicle v on an otherwise empty route? */
static int alone_ok(const ctx_t *c, int v, int u)
{
	const vrptw_problem_t *p = c->p;
	if (!veh_can(c, v, u) || p->demand[u] > c->cap[v])
		return 0;
	if (c->ncl > 0 && c->vcl[u] >= 0 && c->ccap[(size_t)v * (size_t)c->ncl + (size_t)c->vcl[u]] < 1)
		return 0;
	double st = dmax(p->ready[u], c->ss[v] + c->t[(size_t)c->vs[v] * (size_t)c->n + (size_t)u]);
	if (st > p->due[u] + EPS)
		return 0;
	double back = st + p->service[u] + c->t[(size_t)u * (size_t)c->n + (size_t)c->ve[v]];
	return back <= c->se[v] + EPS;
}

typedef struct keyed {
	double key;
	double key2; /* tie-break */
	int node;
} keyed_t;

/* A total order (key, key2, node), so qsort's instability cannot leak into
 * the result. */
static int keyed_cmp(const void *a, const void *b)
{
	const keyed_t *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->key2 != y->key2)
		return x->key2 < y->key2 ? -1 : 1;
	return (x->node > y->node) - (x->node < y->node);
}

/* Longest route any vehicle could drive: its visits' demands must fit the
 * largest capacity and their services the longest shift, so count how many
 * of the smallest ones do. Keeps route tables small when the fleet is big. */
static int route_bound(const ctx_t *c, keyed_t *tmp)
{
	const vrptw_problem_t *p = c->p;
	double maxcap = 0.0, maxshift = 0.0;
	int kc = 0, ks = 0;
	for (int v = 0; v < c->nv; v++) {
		maxcap = dmax(maxcap, (double)c->cap[v]);
		maxshift = dmax(maxshift, c->se[v] - c->ss[v]);
	}
	for (int i = 0; i < c->ncust; i++) {
		tmp[i].key = (double)p->demand[c->custs[i]];
		tmp[i].key2 = 0.0;
		tmp[i].node = c->custs[i];
	}
	qsort(tmp, (size_t)c->ncust, sizeof(*tmp), keyed_cmp);
	for (double sum = 0.0; kc < c->ncust && sum + tmp[kc].key <= maxcap; kc++)
		sum += tmp[kc].key;
	for (int i = 0; i < c->ncust; i++)
		tmp[i].key = p->service[c->custs[i]];
	qsort(tmp, (size_t)c->ncust, sizeof(*tmp), keyed_cmp);
	/* tolerance: the feasibility tests allow EPS per comparison */
	for (double sum = 0.0; ks < c->ncust && sum + tmp[ks].key <= maxshift + 1e-6; ks++)
		sum += tmp[ks].key;
	return kc < ks ? kc : ks;
}

static int ctx_init(ctx_t *c, const vrptw_problem_t *p)
{
	int rc = VRPTW_ENOMEM;
	keyed_t *tmp = NULL;
	int n = p->n, nv = p->nvehicles;

	memset(c, 0, sizeof(*c));
	c->p = p;
	c->n = n;
	c->nd = p->ndepots;
	c->nv = nv;
	c->t = p->travel;
	if (has_classes(p)) {
		c->ncl = p->nclasses;
		c->vcl = p->visit_class;
		c->ccap = p->class_capacity;
		c->hv = p->class_holder;
	}
	size_t nvs = nv > 0 ? (size_t)nv : 1;
	c->cap = calloc(nvs, sizeof(int));
	c->vs = calloc(nvs, sizeof(int));
	c->ve = calloc(nvs, sizeof(int));
	c->ss = calloc(nvs, sizeof(double));
	c->se = calloc(nvs, sizeof(double));
	c->vclass = calloc(nvs, sizeof(int));
	c->custs = calloc((size_t)n, sizeof(int));
	c->unserv = calloc((size_t)n, sizeof(int));
	c->cidx = calloc((size_t)n, sizeof(int));
	c->ddist = calloc((size_t)n, sizeof(double));
	tmp = calloc((size_t)n, sizeof(*tmp));
	c->ctmp = calloc((size_t)c->ncl + 1, sizeof(int));
	if (!c->ctmp || !c->cap || !c->vs || !c->ve || !c->ss || !c->se || !c->vclass || !c->custs || !c->unserv ||
	    !c->cidx || !c->ddist || !tmp)
		goto out;

	for (int v = 0; v < nv; v++) {
		c->cap[v] = p->vehicle_capacity ? p->vehicle_capacity[v] : p->capacity;
		c->vs[v] = p->vehicle_start ? p->vehicle_start[v] : 0;
		c->ve[v] = p->vehicle_end ? p->vehicle_end[v] : c->vs[v];
		c->ss[v] = p->shift_start ? p->shift_start[v] : p->ready[c->vs[v]];
		c->se[v] = p->shift_end ? p->shift_end[v] : p->due[c->ve[v]];
	}
	/* Vehicles that are interchangeable share a class: only one empty
	 * vehicle per class needs to be tried when inserting. */
	for (int v = 0; v < nv; v++) {
		c->vclass[v] = -1;
		if (p->can_serve == NULL) {
			for (int w = 0; w < v; w++) {
				if (c->cap[w] == c->cap[v] && c->vs[w] == c->vs[v] && c->ve[w] == c->ve[v] &&
				    c->ss[w] == c->ss[v] && c->se[w] == c->se[v] &&
				    (c->ncl == 0 ||
				     memcmp(c->ccap + (size_t)w * (size_t)c->ncl, c->ccap + (size_t)v * (size_t)c->ncl,
				            (size_t)c->ncl * sizeof(int)) == 0)) {
					c->vclass[v] = c->vclass[w];
					break;
				}
			}
		}
		if (c->vclass[v] < 0)
			c->vclass[v] = c->nclass++;
	}

	for (int u = 0; u < n; u++) {
		c->cidx[u] = -1;
		c->ddist[u] = DBL_MAX;
		for (int v = 0; v < nv; v++)
			c->ddist[u] = dmin(c->ddist[u], c->t[(size_t)c->vs[v] * (size_t)n + (size_t)u]);
		if (nv == 0)
			c->ddist[u] = 0.0;
	}
	for (int u = c->nd; u < n; u++) {
		int ok = 0;
		for (int v = 0; v < nv && !ok; v++)
			ok = alone_ok(c, v, u);
		if (ok) {
			c->cidx[u] = c->ncust;
			c->custs[c->ncust++] = u;
		} else {
			c->unserv[c->nunserv++] = u;
		}
	}

	c->adjlen = c->ncust < ADJ_MAX ? c->ncust : ADJ_MAX;
	if (c->ncust > 0) {
		c->adj = calloc((size_t)c->ncust * (size_t)c->adjlen, sizeof(int));
		if (!c->adj)
			goto out;
	}
	for (int i = 0; i < c->ncust; i++) {
		int u = c->custs[i];
		for (int j = 0; j < c->ncust; j++) {
			int w = c->custs[j];
			tmp[j].node = w;
			tmp[j].key2 = 0.0;
			/* self first, then by symmetric travel */
			tmp[j].key =
			    w == u ? -1.0
			           : c->t[(size_t)u * (size_t)n + (size_t)w] + c->t[(size_t)w * (size_t)n + (size_t)u];
		}
		qsort(tmp, (size_t)c->ncust, sizeof(*tmp), keyed_cmp);
		for (int j = 0; j < c->adjlen; j++)
			c->adj[(size_t)i * (size_t)c->adjlen + (size_t)j] = tmp[j].node;
	}

	c->stride = (size_t)route_bound(c, tmp) + 2;
	if ((double)c->stride * (double)nvs > (double)MAX_CELLS)
		goto out;
	rc = VRPTW_OK;
out:
	free(tmp);
	if (rc != VRPTW_OK)
		ctx_free(c);
	return rc;
}

/* ---- Solutions */

static void sol_free(sol_t *s)
{
	free(s->node);
	free(s->early);
	free(s->late);
	free(s->len);
	free(s->load);
	free(s->ccount);
	free(s->hold);
	free(s->dist);
	free(s->route_of);
	free(s->pos_of);
	free(s->absent);
	memset(s, 0, sizeof(*s));
}

static void route_update(const ctx_t *c, sol_t *s, int r);

static int sol_init(const ctx_t *c, sol_t *s)
{
	size_t nvs = c->nv > 0 ? (size_t)c->nv : 1;
	size_t cells = nvs * c->stride;

	memset(s, 0, sizeof(*s));
	s->node = calloc(cells, sizeof(int));
	s->early = calloc(cells, sizeof(double));
	s->late = calloc(cells, sizeof(double));
	s->len = calloc(nvs, sizeof(int));
	s->load = calloc(nvs, sizeof(int));
	s->ccount = calloc(nvs * (size_t)c->ncl + 1, sizeof(int));
	s->hold = calloc(nvs * (size_t)c->ncl + 1, sizeof(int));
	s->dist = calloc(nvs, sizeof(double));
	s->route_of = calloc((size_t)c->n, sizeof(int));
	s->pos_of = calloc((size_t)c->n, sizeof(int));
	s->absent = calloc((size_t)c->ncust + 1, sizeof(int));
	if (!s->node || !s->early || !s->late || !s->len || !s->load || !s->ccount || !s->hold || !s->dist ||
	    !s->route_of || !s->pos_of || !s->absent) {
		sol_free(s);
		return VRPTW_ENOMEM;
	}
	for (int u = 0; u < c->n; u++)
		s->route_of[u] = -1;
	for (int r = 0; r < c->nv; r++)
		route_update(c, s, r);
	for (int i = 0; i < c->ncust; i++)
		s->absent[i] = c->custs[i];
	s->nabsent = c->ncust;
	/* every visit starts absent, the unservable ones stay so */
	for (int u = c->nd; u < c->n; u++)
		hold_add(c, s->hold, u, 1);
	s->total = 0.0;
	return VRPTW_OK;
}

/* Recomputes load, distance, schedules and positions of route r, and keeps
 * the plan total in step. */
static void route_update(const ctx_t *c, sol_t *s, int r)
{
	const vrptw_problem_t *p = c->p;
	size_t base = (size_t)r * c->stride;
	int *nd = s->node + base;
	double *E = s->early + base, *L = s->late + base;
	int len = s->len[r];
	size_t n = (size_t)c->n;
	int load = 0;
	double dist = 0.0;
	int *cc = s->ccount + (size_t)r * (size_t)c->ncl;

	if (c->ncl > 0)
		memset(cc, 0, (size_t)c->ncl * sizeof(int));
	nd[0] = c->vs[r];
	nd[len + 1] = c->ve[r];
	E[0] = c->ss[r];
	for (int i = 1; i <= len + 1; i++) {
		int a = nd[i - 1], b = nd[i];
		double svc = i - 1 == 0 ? 0.0 : p->service[a];
		double tr = c->t[(size_t)a * n + (size_t)b];
		double arr = E[i - 1] + svc + tr;
		dist += tr;
		if (i <= len) {
			E[i] = dmax(p->ready[b], arr);
			load += p->demand[b];
			if (c->ncl > 0 && c->vcl[b] >= 0)
				cc[c->vcl[b]]++;
			s->route_of[b] = r;
			s->pos_of[b] = i;
		} else {
			E[i] = arr;
		}
	}
	L[len + 1] = c->se[r];
	for (int i = len; i >= 0; i--) {
		int a = nd[i], b = nd[i + 1];
		double svc = i == 0 ? 0.0 : p->service[a];
		double lat = L[i + 1] - c->t[(size_t)a * n + (size_t)b] - svc;
		L[i] = i == 0 ? lat : dmin(p->due[a], lat);
	}
	if (len == 0)
		dist = 0.0; /* an unused vehicle does not travel */
	s->total += dist - s->dist[r];
	s->dist[r] = dist;
	s->load[r] = load;
}

/* Copies route r from src to dst, fixing dst's node index. */
static void route_copy(const ctx_t *c, sol_t *dst, const sol_t *src, int r)
{
	size_t base = (size_t)r * c->stride;
	size_t cnt = (size_t)src->len[r] + 2;
	memcpy(dst->node + base, src->node + base, cnt * sizeof(int));
	memcpy(dst->early + base, src->early + base, cnt * sizeof(double));
	memcpy(dst->late + base, src->late + base, cnt * sizeof(double));
	dst->len[r] = src->len[r];
	dst->load[r] = src->load[r];
	if (c->ncl > 0)
		memcpy(dst->ccount + (size_t)r * (size_t)c->ncl, src->ccount + (size_t)r * (size_t)c->ncl,
		       (size_t)c->ncl * sizeof(int));
	dst->dist[r] = src->dist[r];
	for (int i = 1; i <= src->len[r]; i++) {
		int u = src->node[base + (size_t)i];
		dst->route_of[u] = r;
		dst->pos_of[u] = i;
	}
}

/* Makes dst equal to src, given that they differ only in routes rs[0..k). */
static void sol_sync(const ctx_t *c, sol_t *dst, const sol_t *src, const int *rs, int k)
{
	for (int j = 0; j < k; j++) {
		int r = rs[j];
		size_t base = (size_t)r * c->stride;
		for (int i = 1; i <= dst->len[r]; i++)
			dst->route_of[dst->node[base + (size_t)i]] = -1;
	}
	for (int j = 0; j < k; j++)
		route_copy(c, dst, src, rs[j]);
	if (c->hv)
		memcpy(dst->hold, src->hold, (size_t)c->nv * (size_t)c->ncl * sizeof(int));
	memcpy(dst->absent, src->absent, (size_t)src->nabsent * sizeof(int));
	dst->nabsent = src->nabsent;
	dst->total = src->total;
}

static void sol_copy_all(const ctx_t *c, sol_t *dst, const sol_t *src)
{
	for (int u = 0; u < c->n; u++)
		dst->route_of[u] = -1;
	for (int r = 0; r < c->nv; r++)
		route_copy(c, dst, src, r);
	if (c->ncl > 0)
		memcpy(dst->hold, src->hold, (size_t)c->nv * (size_t)c->ncl * sizeof(int));
	memcpy(dst->absent, src->absent, (size_t)src->nabsent * sizeof(int));
	dst->nabsent = src->nabsent;
	dst->total = src->total;
}

/* Exact total, to wash out the drift of incremental updates. */
static void sol_retotal(const ctx_t *c, sol_t *s)
{
	double tot = 0.0;
	for (int r = 0; r < c->nv; r++)
		tot += s->dist[r];
	s->total = tot;
}

/* ---- Search state */

typedef struct search {
	const ctx_t *c;
	rng_t rng;
	sol_t cur, work, best;
	unsigned char *touched; /* nv: route changed in this step */
	int *tlist;             /* nv: the changed routes */
	int ntouched;
	int *class_stamp; /* nclass: last insertion that tried the class */
	int stamp;
	keyed_t *order;      /* ncust: reinsertion order */
	unsigned char *kill; /* stride: positions to remove */
} search_t;

static void touch(search_t *S, int r)
{
	if (!S->touched[r]) {
		S->touched[r] = 1;
		S->tlist[S->ntouched++] = r;
	}
}

static void untouch_all(search_t *S)
{
	for (int j = 0; j < S->ntouched; j++)
		S->touched[S->tlist[j]] = 0;
	S->ntouched = 0;
}

/* Removes the positions flagged in S->kill[1..len] from route r of s and
 * appends the removed visits to s->absent. */
static void route_remove_marked(search_t *S, sol_t *s, int r)
{
	const ctx_t *c = S->c;
	size_t base = (size_t)r * c->stride;
	int *nd = s->node + base;
	int len = s->len[r], w = 1;
	for (int i = 1; i <= len; i++) {
		if (S->kill[i]) {
			s->route_of[nd[i]] = -1;
			if (c->hv)
				hold_add(c, s->hold, nd[i], 1);
			s->absent[s->nabsent++] = nd[i];
			S->kill[i] = 0;
		} else {
			nd[w++] = nd[i];
		}
	}
	s->len[r] = w - 1;
	route_update(c, s, r);
	touch(S, r);
}

/* SISR ruin: strings around visits close to a random seed visit. */
static void ruin(search_t *S, sol_t *s)
{
	const ctx_t *c = S->c;
	rng_t *g = &S->rng;
	int routed = c->ncust - s->nabsent, used = 0;

	for (int r = 0; r < c->nv; r++)
		used += s->len[r] > 0;
	if (used == 0)
		return;
	double avg = (double)routed / (double)used;
	double lsmax = dmin(SISR_LMAX, avg);
	double ksmax = 4.0 * SISR_CBAR / (1.0 + lsmax) - 1.0;
	int ks = (int)floor(rng_unif(g) * ksmax) + 1;
	int seed = rng_int(g, c->ncust);
	const int *adj = c->adj + (size_t)seed * (size_t)c->adjlen;
	int done = 0;

	/* touched doubles as "already ruined" here: routes are touched only
	 * by this function before recreate runs. */
	for (int j = 0; j < c->adjlen && done < ks; j++) {
		int u = adj[j];
		int r = s->route_of[u];
		if (r < 0 || S->touched[r])
			continue;
		int len = s->len[r];
		int ltmax = (int)dmin((double)len, lsmax);
		if (ltmax < 1)
			ltmax = 1;
		int l = rng_int(g, ltmax) + 1;
		int pos = s->pos_of[u];
		if (l >= len || rng_unif(g) >= SISR_SPLIT) {
			/* plain string of l visits containing pos */
			int lo = pos - l + 1 > 1 ? pos - l + 1 : 1;
			int hi = pos < len - l + 1 ? pos : len - l + 1;
			int st = lo + rng_int(g, hi - lo + 1);
			for (int i = st; i < st + l; i++)
				S->kill[i] = 1;
		} else {
			/* split string: l + m visits around pos, of which a block
			 * of m consecutive ones stays; pos itself always goes */
			int m = 1;
			while (l + m < len && rng_unif(g) >= SISR_BETA)
				m++;
			int tot = l + m;
			int lo = pos - tot + 1 > 1 ? pos - tot + 1 : 1;
			int hi = pos < len - tot + 1 ? pos : len - tot + 1;
			int st = lo + rng_int(g, hi - lo + 1);
			int ks0 = st + rng_int(g, l + 1); /* kept block start */
			for (int i = st; i < st + tot; i++)
				S->kill[i] = (i < ks0 || i >= ks0 + m || i == pos);
		}
		route_remove_marked(S, s, r);
		done++;
	}
}

/* Cheapest feasible insertion of u; returns 0 and the place, or -1.
 * Each would-be best place is skipped with probability blink; *blinked
 * tells whether that happened, so a caller can retry without blinks rather
 * than leave a servable visit out. */
static int best_insertion_in(search_t *S, const sol_t *s, int u, double blink, int rlo, int rhi, int *br, int *bi,
                             double *bdelta, int *blinked)
{
	const ctx_t *c = S->c;
	const vrptw_problem_t *p = c->p;
	size_t n = (size_t)c->n;
	const double *tu = c->t + (size_t)u * n;
	double ready = p->ready[u], due = p->due[u], svc = p->service[u];
	int dem = p->demand[u];
	double best = DBL_MAX;
	int found = -1;

	*blinked = 0;
	S->stamp++;
	for (int r = rlo; r < rhi; r++) {
		int len = s->len[r];
		/* never true when route_bound() holds; a guard for the tables */
		if ((size_t)len + 3 > c->stride)
			continue;
		if ((long long)s->load[r] + dem > (long long)c->cap[r] || !veh_can(c, r, u))
			continue;
		if (!class_room(c, s->ccount, s->hold, r, u))
			continue;
		if (len == 0) {
			int k = c->vclass[r];
			if (S->class_stamp[k] == S->stamp)
				continue;
			S->class_stamp[k] = S->stamp;
		}
		size_t base = (size_t)r * c->stride;
		const int *nd = s->node + base;
		const double *E = s->early + base, *L = s->late + base;
		for (int i = 0; i <= len; i++) {
			int a = nd[i], b = nd[i + 1];
			double d = c->t[(size_t)a * n + (size_t)u] + tu[b];
			if (len > 0)
				d -= c->t[(size_t)a * n + (size_t)b];
			if (d >= best)
				continue;
			double st = E[i] + (i == 0 ? 0.0 : p->service[a]) + c->t[(size_t)a * n + (size_t)u];
			if (st < ready)
				st = ready;
			if (st > due + EPS)
				continue;
			if (st + svc + tu[b] > L[i + 1] + EPS)
				continue;
			/* blink: lazily decided only for would-be best places,
			 * which gives the same distribution as blinking all */
			if (blink > 0.0 && rng_unif(&S->rng) < blink) {
				*blinked = 1;
				continue;
			}
			best = d;
			*br = r;
			*bi = i;
			found = 0;
		}
	}
	*bdelta = best;
	return found;
}

static int best_insertion(search_t *S, const sol_t *s, int u, double blink, int *br, int *bi, double *bdelta,
                          int *blinked)
{
	return best_insertion_in(S, s, u, blink, 0, S->c->nv, br, bi, bdelta, blinked);
}

static void route_insert(search_t *S, sol_t *s, int r, int i, int u)
{
	const ctx_t *c = S->c;
	size_t base = (size_t)r * c->stride;
	int *nd = s->node + base;
	int len = s->len[r];
	/* shift [i+1 .. len+1] one place right (end depot included) */
	memmove(nd + i + 2, nd + i + 1, (size_t)(len + 1 - i) * sizeof(int));
	nd[i + 1] = u;
	s->len[r] = len + 1;
	if (c->hv)
		hold_add(c, s->hold, u, -1);
	route_update(c, s, r);
	touch(S, r);
}

/* SISR recreate: sort the absent visits, insert each at its best place. */
static void recreate(search_t *S, sol_t *s)
{
	const ctx_t *c = S->c;
	const vrptw_problem_t *p = c->p;
	rng_t *g = &S->rng;
	int k = s->nabsent;
	if (k == 0)
		return;
	/* order weights from the paper: random 4, demand 4, far 2, close 1;
	 * plus, for time windows, tightest window first 2 and earliest ready
	 * first 2 (on Solomon these got RC103 from 1274 to 1262 and R104 to
	 * its best known at 1 M steps) */
	int w = rng_int(g, 15);
	for (int j = 0; j < k; j++) {
		int u = s->absent[j];
		double key;
		if (w < 4)
			key = rng_unif(g);
		else if (w < 8)
			key = -(double)p->demand[u];
		else if (w < 10)
			key = -c->ddist[u];
		else if (w < 11)
			key = c->ddist[u];
		else if (w < 13)
			key = p->due[u] - p->ready[u];
		else
			key = p->ready[u];
		S->order[j].key = key;
		S->order[j].key2 = rng_unif(g); /* ties break at random */
		S->order[j].node = u;
	}
	qsort(S->order, (size_t)k, sizeof(keyed_t), keyed_cmp);
	s->nabsent = 0;
	for (int j = 0; j < k; j++) {
		int u = S->order[j].node, r, i, blinked;
		double d;
		int rc = best_insertion(S, s, u, SISR_BLINK, &r, &i, &d, &blinked);
		if (rc != 0 && blinked)
			rc = best_insertion(S, s, u, 0.0, &r, &i, &d, &blinked);
		if (rc == 0)
			route_insert(S, s, r, i, u);
		else
			s->absent[s->nabsent++] = u;
	}
}

/* The start plan from an initial assignment iv (n entries): each vehicle's
 * visits by ready time (then node), each at its cheapest
 * feasible place in that vehicle's route. Visits with no vehicle, or no
 * feasible place in theirs, stay absent for the greedy recreate. */
static void initial_build(search_t *S, sol_t *s, const int *iv)
{
	const ctx_t *c = S->c;
	const vrptw_problem_t *p = c->p;
	int k = 0;
	for (int j = 0; j < c->ncust; j++) {
		int u = c->custs[j];
		if (iv[u] >= 0 && iv[u] < c->nv) {
			S->order[k].key = (double)iv[u];
			S->order[k].key2 = p->ready[u];
			S->order[k].node = u;
			k++;
		}
	}
	/* by vehicle, then ready time, then node (keyed_cmp's total order) */
	qsort(S->order, (size_t)k, sizeof(keyed_t), keyed_cmp);
	s->nabsent = 0;
	for (int j = 0; j < k; j++) {
		int u = S->order[j].node, v = iv[u], r, i, blinked;
		double d;
		if (best_insertion_in(S, s, u, 0.0, v, v + 1, &r, &i, &d, &blinked) == 0)
			route_insert(S, s, r, i, u);
		else
			s->absent[s->nabsent++] = u;
	}
	for (int j = 0; j < c->ncust; j++) {
		int u = c->custs[j];
		if (!(iv[u] >= 0 && iv[u] < c->nv))
			s->absent[s->nabsent++] = u;
	}
}

/* After a ruin and recreate: does every unit an absent visit holds still fit?
 * (A visit taken off a route and not placed again takes its unit back, which
 * may overfill its holder; such a plan is refused.) */
static int holds_fit(const ctx_t *c, const sol_t *s)
{
	if (c->hv == NULL)
		return 1;
	for (int j = 0; j < s->nabsent; j++) {
		int u = s->absent[j], h = holder_of(c, u);
		if (h < 0)
			continue;
		size_t cell = (size_t)h * (size_t)c->ncl + (size_t)c->vcl[u];
		if (s->ccount[cell] + s->hold[cell] > c->ccap[cell])
			return 0;
	}
	return 1;
}

/* Is a better than b? Fewer unserved visits first, then less travel. */
static int sol_better(const sol_t *a, const sol_t *b)
{
	if (a->nabsent != b->nabsent)
		return a->nabsent < b->nabsent;
	return a->total < b->total - 1e-9;
}

/* ---- Local search on a full plan: relocate and 2-opt*, first improvement.
 * Used as a final polish; routes are rebuilt through a scratch buffer. */

/* Feasibility and cost of a route given as a node sequence (depots included).
 * Returns travel, or -1 if infeasible. */
static double seq_eval(const ctx_t *c, const sol_t *s, int r, const int *seq, int cnt)
{
	const vrptw_problem_t *p = c->p;
	size_t n = (size_t)c->n;
	double tm = c->ss[r], dist = 0.0;
	long long load = 0;
	if (c->ncl > 0)
		memset(c->ctmp, 0, (size_t)c->ncl * sizeof(int));
	for (int i = 1; i < cnt; i++) {
		int a = seq[i - 1], b = seq[i];
		double tr = c->t[(size_t)a * n + (size_t)b];
		tm += (i - 1 == 0 ? 0.0 : p->service[a]) + tr;
		dist += tr;
		if (i < cnt - 1) {
			if (!veh_can(c, r, b))
				return -1.0;
			load += p->demand[b];
			if (c->ncl > 0 && c->vcl[b] >= 0 &&
			    ++c->ctmp[c->vcl[b]] + s->hold[(size_t)r * (size_t)c->ncl + (size_t)c->vcl[b]] >
			        c->ccap[(size_t)r * (size_t)c->ncl + (size_t)c->vcl[b]])
				return -1.0;
			tm = dmax(tm, p->ready[b]);
			if (tm > p->due[b] + EPS)
				return -1.0;
		} else if (tm > c->se[r] + EPS) {
			return -1.0;
		}
	}
	if (load > c->cap[r])
		return -1.0;
	return cnt <= 2 ? 0.0 : dist;
}

/* 2-opt* between routes r1 and r2: swap their tails. O(len1*len2*len) but it
 * runs only on the final plan. Returns 1 if it improved. */
static int two_opt_star(search_t *S, sol_t *s, int r1, int r2, int *buf1, int *buf2)
{
	const ctx_t *c = S->c;
	size_t b1 = (size_t)r1 * c->stride, b2 = (size_t)r2 * c->stride;
	int l1 = s->len[r1], l2 = s->len[r2];
	double old = s->dist[r1] + s->dist[r2];
	const int *n1 = s->node + b1, *n2 = s->node + b2;
	size_t n = (size_t)c->n;

	for (int i = 0; i <= l1; i++) {
		for (int j = 0; j <= l2; j++) {
			/* r1 keeps [0..i], takes r2's (j..l2]; r2 the reverse */
			int a = n1[i], bq = n2[j + 1], x = n2[j], y = n1[i + 1];
			double gain = c->t[(size_t)a * n + (size_t)y] + c->t[(size_t)x * n + (size_t)bq] -
			              c->t[(size_t)a * n + (size_t)bq] - c->t[(size_t)x * n + (size_t)y];
			if (gain <= 1e-7)
				continue;
			int k1 = 0, k2 = 0;
			for (int q = 0; q <= i; q++)
				buf1[k1++] = n1[q];
			for (int q = j + 1; q <= l2; q++)
				buf1[k1++] = n2[q];
			buf1[k1++] = c->ve[r1];
			buf1[0] = c->vs[r1];
			for (int q = 0; q <= j; q++)
				buf2[k2++] = n2[q];
			for (int q = i + 1; q <= l1; q++)
				buf2[k2++] = n1[q];
			buf2[k2++] = c->ve[r2];
			buf2[0] = c->vs[r2];
			if ((size_t)k1 > c->stride || (size_t)k2 > c->stride)
				continue;
			double d1 = seq_eval(c, s, r1, buf1, k1);
			if (d1 < 0)
				continue;
			double d2 = seq_eval(c, s, r2, buf2, k2);
			if (d2 < 0 || d1 + d2 >= old - 1e-7)
				continue;
			memcpy(s->node + b1, buf1, (size_t)k1 * sizeof(int));
			memcpy(s->node + b2, buf2, (size_t)k2 * sizeof(int));
			s->len[r1] = k1 - 2;
			s->len[r2] = k2 - 2;
			route_update(c, s, r1);
			route_update(c, s, r2);
			return 1;
		}
	}
	return 0;
}

/* Relocate every visit to its cheapest feasible place if that saves travel. */
static int relocate_pass(search_t *S, sol_t *s)
{
	const ctx_t *c = S->c;
	size_t n = (size_t)c->n;
	int improved = 0;
	for (int k = 0; k < c->ncust; k++) {
		int u = c->custs[k];
		int r = s->route_of[u];
		if (r < 0)
			continue;
		size_t base = (size_t)r * c->stride;
		int pos = s->pos_of[u];
		int a = s->node[base + (size_t)pos - 1], b = s->node[base + (size_t)pos + 1];
		double save = c->t[(size_t)a * n + (size_t)u] + c->t[(size_t)u * n + (size_t)b];
		if (s->len[r] > 1)
			save -= c->t[(size_t)a * n + (size_t)b];
		/* take u out, look for a better place, put back if none */
		S->kill[pos] = 1;
		route_remove_marked(S, s, r);
		s->nabsent--; /* route_remove_marked appended u */
		int br, bi, blinked;
		double d;
		if (best_insertion(S, s, u, 0.0, &br, &bi, &d, &blinked) == 0 && d < save - 1e-7) {
			route_insert(S, s, br, bi, u);
			improved = 1;
		} else {
			/* put it back where it was: always feasible */
			route_insert(S, s, r, pos - 1, u);
		}
	}
	return improved;
}

static void polish(search_t *S, sol_t *s, int *buf1, int *buf2, double deadline)
{
	const ctx_t *c = S->c;
	int again = 1, rounds = 0;
	while (again && rounds++ < 50) {
		again = relocate_pass(S, s);
		for (int r1 = 0; r1 < c->nv; r1++) {
			for (int r2 = 0; r2 < c->nv; r2++) {
				if (r1 == r2 || (s->len[r1] == 0 && s->len[r2] == 0))
					continue;
				if (two_opt_star(S, s, r1, r2, buf1, buf2))
					again = 1;
			}
			if (deadline > 0 && now_s() > deadline)
				return;
		}
	}
}

static void search_free(search_t *S)
{
	sol_free(&S->cur);
	sol_free(&S->work);
	sol_free(&S->best);
	free(S->touched);
	free(S->tlist);
	free(S->class_stamp);
	free(S->order);
	free(S->kill);
}

/* ---- Output */

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static int export_solution(const ctx_t *c, const sol_t *s, vrptw_solution_t *out)
{
	int used = 0;
	for (int r = 0; r < c->nv; r++)
		used += s->len[r] > 0;
	out->nunassigned = 0;
	out->unassigned = calloc((size_t)(c->nunserv + s->nabsent) + 1, sizeof(int));
	out->routes = calloc((size_t)used + 1, sizeof(vrptw_route_t));
	if (!out->unassigned || !out->routes)
		return VRPTW_ENOMEM;
	for (int j = 0; j < c->nunserv; j++)
		out->unassigned[out->nunassigned++] = c->unserv[j];
	for (int j = 0; j < s->nabsent; j++)
		out->unassigned[out->nunassigned++] = s->absent[j];
	qsort(out->unassigned, (size_t)out->nunassigned, sizeof(int), int_cmp);
	out->distance = 0.0;
	for (int r = 0; r < c->nv; r++) {
		int len = s->len[r];
		if (len == 0)
			continue;
		vrptw_route_t *rt = &out->routes[out->nroutes];
		size_t base = (size_t)r * c->stride;
		rt->visits = calloc((size_t)len, sizeof(int));
		rt->start = calloc((size_t)len, sizeof(double));
		if (!rt->visits || !rt->start) {
			free(rt->visits);
			free(rt->start);
			rt->visits = NULL;
			rt->start = NULL;
			return VRPTW_ENOMEM;
		}
		out->nroutes++;
		rt->vehicle = r;
		rt->len = len;
		rt->distance = s->dist[r];
		for (int i = 0; i < len; i++) {
			rt->visits[i] = s->node[base + (size_t)i + 1];
			rt->start[i] = s->early[base + (size_t)i + 1];
		}
		out->distance += s->dist[r];
	}
	return VRPTW_OK;
}

/* ---- Public API */

void vrptw_options_init(vrptw_options_t *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->seed = 1;
	opt->time_limit_s = 1.0;
	opt->max_iterations = 0;
}

void vrptw_solution_free(vrptw_solution_t *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->nroutes && s->routes; i++) {
		free(s->routes[i].visits);
		free(s->routes[i].start);
	}
	free(s->routes);
	free(s->unassigned);
	memset(s, 0, sizeof(*s));
}

int vrptw_solve(const vrptw_problem_t *p, const vrptw_options_t *opt, vrptw_solution_t *out)
{
	int rc;
	ctx_t c;
	search_t S;
	int *buf1 = NULL, *buf2 = NULL;
	double t0 = now_s();

	memset(&c, 0, sizeof(c));
	memset(&S, 0, sizeof(S));
	if (out == NULL)
		return VRPTW_EINVAL;
	memset(out, 0, sizeof(*out));
	if (opt == NULL || !problem_valid(p) || !isfinite(opt->time_limit_s) ||
	    (opt->time_limit_s <= 0.0 && opt->max_iterations <= 0))
		return VRPTW_EINVAL;
	if (opt->initial_vehicle) {
		for (int u = p->ndepots; u < p->n; u++)
			if (opt->initial_vehicle[u] < -1 || opt->initial_vehicle[u] >= p->nvehicles)
				return VRPTW_EINVAL;
	}
	rc = ctx_init(&c, p);
	if (rc != VRPTW_OK)
		return rc;

	rc = VRPTW_ENOMEM;
	S.c = &c;
	rng_seed(&S.rng, (uint64_t)opt->seed);
	size_t nvs = c.nv > 0 ? (size_t)c.nv : 1;
	S.touched = calloc(nvs, 1);
	S.tlist = calloc(nvs, sizeof(int));
	S.class_stamp = calloc(nvs, sizeof(int));
	S.order = calloc((size_t)c.ncust + 1, sizeof(keyed_t));
	S.kill = calloc(c.stride + 1, 1);
	buf1 = calloc(c.stride * 2 + 2, sizeof(int));
	buf2 = calloc(c.stride * 2 + 2, sizeof(int));
	if (!S.touched || !S.tlist || !S.class_stamp || !S.order || !S.kill || !buf1 || !buf2)
		goto out;
	if (sol_init(&c, &S.cur) || sol_init(&c, &S.work) || sol_init(&c, &S.best))
		goto out;

	/* construction: the initial assignment if any, then one recreate of
	 * whatever is still absent */
	if (opt->initial_vehicle)
		initial_build(&S, &S.cur, opt->initial_vehicle);
	recreate(&S, &S.cur);
	untouch_all(&S);
	sol_retotal(&c, &S.cur);
	sol_copy_all(&c, &S.work, &S.cur);
	sol_copy_all(&c, &S.best, &S.cur);

	/* Temperatures scale with the mean edge of the start plan, so one
	 * schedule fits any distance unit (the paper's 100 -> 1 assumes
	 * its own instances). */
	int used = 0;
	for (int r = 0; r < c.nv; r++)
		used += S.cur.len[r] > 0;
	int edges = c.ncust - S.cur.nabsent + used;
	double mean_edge = edges > 0 ? S.cur.total / edges : 1.0;
	if (!(mean_edge > 0))
		mean_edge = 1.0;
	double T0 = SA_T0 * mean_edge, Tf = SA_TF * mean_edge;
	double limit = opt->time_limit_s;
	long maxit = opt->max_iterations;
	long it = 0;

	if (c.ncust > 0 && c.nv > 0) {
		for (;;) {
			double frac = 0.0;
			if (maxit > 0)
				frac = (double)it / (double)maxit;
			if (limit > 0) {
				double el = (now_s() - t0) / limit;
				if (maxit <= 0 || el > frac)
					frac = el;
			}
			if (frac >= 1.0)
				break;
			double T = T0 * pow(Tf / T0, frac);
			ruin(&S, &S.work);
			recreate(&S, &S.work);
			it++;
			int accept;
			if (!holds_fit(&c, &S.work))
				accept = 0;
			else if (S.work.nabsent != S.cur.nabsent)
				accept = S.work.nabsent < S.cur.nabsent;
			else
				accept = S.work.total < S.cur.total - T * log(1.0 - rng_unif(&S.rng));
			if (accept) {
				sol_sync(&c, &S.cur, &S.work, S.tlist, S.ntouched);
				if (sol_better(&S.work, &S.best))
					sol_copy_all(&c, &S.best, &S.work);
			} else {
				sol_sync(&c, &S.work, &S.cur, S.tlist, S.ntouched);
			}
			untouch_all(&S);
			if ((it & 1023) == 0) {
				sol_retotal(&c, &S.cur);
				sol_retotal(&c, &S.work);
			}
		}
	}

	/* final polish, bounded so it cannot blow far past the time limit */
	sol_retotal(&c, &S.best);
	polish(&S, &S.best, buf1, buf2, limit > 0 ? t0 + limit * 1.05 + 0.05 : 0.0);
	untouch_all(&S);
	/* The polish may have made room: a visit is reported unassigned only if
	 * no feasible place exists in the final plan. */
	if (S.best.nabsent > 0) {
		recreate(&S, &S.best);
		untouch_all(&S);
	}
	sol_retotal(&c, &S.best);

	rc = export_solution(&c, &S.best, out);
	out->iterations = it;
out:
	if (rc != VRPTW_OK)
		vrptw_solution_free(out);
	free(buf1);
	free(buf2);
	search_free(&S);
	ctx_free(&c);
	return rc;
}

/* ---- Checker: deliberately independent of the search code above. */

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

int vrptw_check(const vrptw_problem_t *p, const vrptw_solution_t *s, double *distance, char *why, size_t whylen)
{
	int rc = -1;
	unsigned char *seen = NULL, *vused = NULL;
	int *ccnt = NULL;
	int ncl = has_classes(p) ? p->nclasses : 0;
	const double tol = 1e-6;
	double total = 0.0;

	if (!problem_valid(p) || s == NULL || s->nroutes < 0 || s->nunassigned < 0 ||
	    (s->nroutes > 0 && s->routes == NULL) || (s->nunassigned > 0 && s->unassigned == NULL)) {
		why_set(why, whylen, "invalid problem or solution");
		return -1;
	}
	seen = calloc((size_t)p->n, 1);
	vused = calloc((size_t)p->nvehicles + 1, 1);
	ccnt = calloc((size_t)p->nvehicles * (size_t)ncl + 1, sizeof(int));
	if (!seen || !vused || !ccnt) {
		why_set(why, whylen, "out of memory");
		goto out;
	}
	for (int k = 0; k < s->nroutes; k++) {
		const vrptw_route_t *rt = &s->routes[k];
		int v = rt->vehicle;
		if (v < 0 || v >= p->nvehicles || vused[v]) {
			why_set(why, whylen, "route %d: bad or repeated vehicle %d", k, v);
			goto out;
		}
		vused[v] = 1;
		if (rt->len < 0 || (rt->len > 0 && rt->visits == NULL)) {
			why_set(why, whylen, "route %d: bad length %d", k, rt->len);
			goto out;
		}
		int start = p->vehicle_start ? p->vehicle_start[v] : 0;
		int end = p->vehicle_end ? p->vehicle_end[v] : start;
		double tm = p->shift_start ? p->shift_start[v] : p->ready[start];
		double send = p->shift_end ? p->shift_end[v] : p->due[end];
		int cap = p->vehicle_capacity ? p->vehicle_capacity[v] : p->capacity;
		long long load = 0;
		int prev = start;
		double dist = 0.0, svc = 0.0;
		if (rt->len == 0)
			continue;
		for (int i = 0; i < rt->len; i++) {
			int u = rt->visits[i];
			if (u < p->ndepots || u >= p->n) {
				why_set(why, whylen, "route %d: node %d is not a visit", k, u);
				goto out;
			}
			if (seen[u]) {
				why_set(why, whylen, "route %d: visit %d served twice", k, u);
				goto out;
			}
			seen[u] = 1;
			if (p->can_serve && !p->can_serve[(size_t)v * (size_t)p->n + (size_t)u]) {
				why_set(why, whylen, "vehicle %d may not serve visit %d", v, u);
				goto out;
			}
			double tr = p->travel[(size_t)prev * (size_t)p->n + (size_t)u];
			dist += tr;
			tm += svc + tr;
			if (tm < p->ready[u])
				tm = p->ready[u];
			if (tm > p->due[u] + tol) {
				why_set(why, whylen, "route %d: visit %d starts after its due time (%.6f > %.6f)", k, u,
				        tm, p->due[u]);
				goto out;
			}
			svc = p->service[u];
			load += p->demand[u];
			if (ncl > 0 && p->visit_class[u] >= 0)
				ccnt[(size_t)v * (size_t)ncl + (size_t)p->visit_class[u]]++;
			prev = u;
		}
		double tr = p->travel[(size_t)prev * (size_t)p->n + (size_t)end];
		dist += tr;
		tm += svc + tr;
		if (tm > send + tol) {
			why_set(why, whylen, "route %d: vehicle %d back after its shift", k, v);
			goto out;
		}
		if (load > cap) {
			why_set(why, whylen, "route %d: load over capacity of vehicle %d", k, v);
			goto out;
		}
		total += dist;
	}
	for (int j = 0; j < s->nunassigned; j++) {
		int u = s->unassigned[j];
		if (u < p->ndepots || u >= p->n || seen[u]) {
			why_set(why, whylen, "unassigned[%d] = %d is not an unrouted visit", j, u);
			goto out;
		}
		seen[u] = 1;
		if (ncl > 0 && p->class_holder && p->visit_class[u] >= 0 && p->class_holder[u] >= 0 &&
		    p->class_holder[u] < p->nvehicles)
			ccnt[(size_t)p->class_holder[u] * (size_t)ncl + (size_t)p->visit_class[u]]++;
	}
	for (size_t cell = 0; cell < (size_t)p->nvehicles * (size_t)ncl; cell++) {
		if (ccnt[cell] > p->class_capacity[cell]) {
			why_set(why, whylen, "vehicle %d: %d visits of class %d, capacity %d",
			        (int)(cell / (size_t)ncl), ccnt[cell], (int)(cell % (size_t)ncl),
			        p->class_capacity[cell]);
			goto out;
		}
	}
	for (int u = p->ndepots; u < p->n; u++) {
		if (!seen[u]) {
			why_set(why, whylen, "visit %d is neither routed nor unassigned", u);
			goto out;
		}
	}
	if (distance != NULL)
		*distance = total;
	rc = 0;
out:
	free(seen);
	free(vused);
	free(ccnt);
	return rc;
}
