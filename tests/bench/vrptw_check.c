/*
 * vrptw_check INSTANCE < plan.json
 *
 * Independent route checker for `mitan plan --solomon` output. It reads the
 * instance (through the Solomon reader) and the JSON plan on stdin, and
 * recomputes everything from "routes" alone with its own Euclidean distances:
 * every customer exactly once, capacity, time windows (waiting allowed,
 * service starts by the due date), back at the depot by its due date, at most
 * the instance's vehicle count. The reported "distance" is never trusted.
 *
 * Prints "OK <vehicles> <distance>" and exits 0, or prints "INFEASIBLE
 * <reason>" and exits 1; exit 2 on unreadable input.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner/solomon.h"

#define TOL 1e-6

typedef struct buf {
	char *p;
	size_t len, cap;
} buf_t;

static int read_all(FILE *f, buf_t *b)
{
	for (;;) {
		if (b->len + 1 >= b->cap) {
			size_t nc = b->cap ? b->cap * 2 : 65536;
			if (nc > (size_t)1 << 30)
				return -1;
			char *np = realloc(b->p, nc);
			if (np == NULL)
				return -1;
			b->p = np;
			b->cap = nc;
		}
		size_t got = fread(b->p + b->len, 1, b->cap - b->len - 1, f);
		b->len += got;
		if (got == 0)
			break;
	}
	b->p[b->len] = '\0';
	return ferror(f) ? -1 : 0;
}

static const char *skip_ws(const char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	return s;
}

/* Finds "key": and returns a pointer just after the colon, or NULL. */
static const char *find_key(const char *s, const char *key)
{
	size_t kl = strlen(key);
	for (const char *q = strchr(s, '"'); q; q = strchr(q + 1, '"')) {
		if (strncmp(q + 1, key, kl) == 0 && q[kl + 1] == '"') {
			const char *c = skip_ws(q + kl + 2);
			if (*c == ':')
				return skip_ws(c + 1);
		}
	}
	return NULL;
}

/* Parses an array of integers at s ("[1, 2]"); appends to *v. */
static const char *parse_int_array(const char *s, long **v, size_t *n, size_t *cap)
{
	s = skip_ws(s);
	if (*s != '[')
		return NULL;
	s = skip_ws(s + 1);
	if (*s == ']')
		return s + 1;
	for (;;) {
		char *e;
		errno = 0;
		long x = strtol(s, &e, 10);
		if (e == s || errno == ERANGE)
			return NULL;
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 64;
			long *nv = realloc(*v, nc * sizeof(long));
			if (nv == NULL)
				return NULL;
			*v = nv;
			*cap = nc;
		}
		(*v)[(*n)++] = x;
		s = skip_ws(e);
		if (*s == ']')
			return s + 1;
		if (*s != ',')
			return NULL;
		s = skip_ws(s + 1);
	}
}

int main(int argc, char **argv)
{
	int rc = 2;
	solomon_instance_t inst;
	buf_t in = {NULL, 0, 0};
	long *vis = NULL;
	size_t nvis = 0, capvis = 0;
	unsigned char *seen = NULL;
	char err[512];
	int routes = 0;
	double total = 0.0;

	memset(&inst, 0, sizeof(inst));
	if (argc != 2) {
		fprintf(stderr, "usage: vrptw_check INSTANCE < plan.json\n");
		return 2;
	}
	if (solomon_read(argv[1], &inst, err, sizeof(err)) != 0) {
		fprintf(stderr, "vrptw_check: %s\n", err);
		goto out;
	}
	if (read_all(stdin, &in) != 0) {
		fprintf(stderr, "vrptw_check: cannot read stdin\n");
		goto out;
	}
	seen = calloc((size_t)inst.n, 1);
	if (seen == NULL)
		goto out;
	const char *s = find_key(in.p, "routes");
	if (s == NULL || *s != '[') {
		printf("INFEASIBLE no \"routes\" array\n");
		rc = 1;
		goto out;
	}
	s = skip_ws(s + 1);
	rc = 1;
	while (*s != ']') {
		nvis = 0;
		s = parse_int_array(s, &vis, &nvis, &capvis);
		if (s == NULL) {
			printf("INFEASIBLE malformed route %d\n", routes);
			goto out;
		}
		if (nvis > 0) {
			double tm = inst.ready[0], dist = 0.0;
			long load = 0;
			int prev = 0;
			for (size_t i = 0; i < nvis; i++) {
				long c = vis[i];
				if (c < 1 || c >= inst.n) {
					printf("INFEASIBLE route %d: no customer %ld\n", routes, c);
					goto out;
				}
				if (seen[c]) {
					printf("INFEASIBLE customer %ld visited twice\n", c);
					goto out;
				}
				seen[c] = 1;
				double d = hypot(inst.x[prev] - inst.x[c], inst.y[prev] - inst.y[c]);
				dist += d;
				tm += (prev == 0 ? 0.0 : inst.service[prev]) + d;
				if (tm < inst.ready[c])
					tm = inst.ready[c];
				if (tm > inst.due[c] + TOL) {
					printf("INFEASIBLE route %d: customer %ld starts at %.6f after due %.6f\n",
					       routes, c, tm, inst.due[c]);
					goto out;
				}
				load += inst.demand[c];
				prev = (int)c;
			}
			double d = hypot(inst.x[prev] - inst.x[0], inst.y[prev] - inst.y[0]);
			dist += d;
			tm += inst.service[prev] + d;
			if (tm > inst.due[0] + TOL) {
				printf("INFEASIBLE route %d: back at the depot at %.6f after %.6f\n", routes, tm,
				       inst.due[0]);
				goto out;
			}
			if (load > inst.capacity) {
				printf("INFEASIBLE route %d: load %ld over capacity %d\n", routes, load, inst.capacity);
				goto out;
			}
			total += dist;
			routes++;
		}
		s = skip_ws(s);
		if (*s == ',')
			s = skip_ws(s + 1);
		else if (*s != ']') {
			printf("INFEASIBLE malformed routes array\n");
			goto out;
		}
	}
	if (routes > inst.nvehicles) {
		printf("INFEASIBLE %d routes but only %d vehicles\n", routes, inst.nvehicles);
		goto out;
	}
	for (int c = 1; c < inst.n; c++) {
		if (!seen[c]) {
			printf("INFEASIBLE customer %d not served\n", c);
			goto out;
		}
	}
	printf("OK %d %.6f\n", routes, total);
	rc = 0;
out:
	free(vis);
	free(seen);
	free(in.p);
	solomon_free(&inst);
	return rc;
}
