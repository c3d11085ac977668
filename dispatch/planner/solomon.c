/*
 * solomon - Solomon-format VRPTW instances: reader, JSON writer and the
 * `mitan plan --solomon` command. Line-based parser with a line number in
 * every error; all arrays grow with the input, nothing is fixed-size.
 */
#include "planner/solomon.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Instance files are a few kB; refuse anything absurd before reading it. */
#define SOLOMON_MAX_FILE         (64L * 1024 * 1024)
#define SOLOMON_MAX_VEHICLES     100000
#define SOLOMON_MAX_NAME         255
#define SOLOMON_MAX_TIME_LIMIT_S 86400.0 /* a day: the largest --time-limit */

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void solomon_free(solomon_instance_t *inst)
{
	if (inst == NULL)
		return;
	free(inst->name);
	free(inst->id);
	free(inst->x);
	free(inst->y);
	free(inst->demand);
	free(inst->ready);
	free(inst->due);
	free(inst->service);
	free(inst->travel);
	memset(inst, 0, sizeof(*inst));
}

/* A cursor over one line: [p, end). */
typedef struct line {
	const char *p, *end;
} line_t;

static int is_blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Next whitespace-separated token of the line; 0 when none is left. */
static int next_token(line_t *ln, const char **tok, size_t *toklen)
{
	while (ln->p < ln->end && is_blank((unsigned char)*ln->p))
		ln->p++;
	if (ln->p >= ln->end)
		return 0;
	*tok = ln->p;
	while (ln->p < ln->end && !is_blank((unsigned char)*ln->p))
		ln->p++;
	*toklen = (size_t)(ln->p - *tok);
	return 1;
}

/* Parses a whole token as a finite double. strtod needs a NUL-terminated
 * string, so the token is copied to a small buffer; longer tokens are not
 * numbers we accept. */
static int token_double(const char *tok, size_t len, double *out)
{
	char buf[64];
	char *end;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, tok, len);
	buf[len] = '\0';
	/* strtod would accept "inf", "nan" and hex; the format has none */
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)buf[i];
		if (!isdigit(ch) && ch != '.' && ch != '-' && ch != '+' && ch != 'e' && ch != 'E')
			return -1;
	}
	errno = 0;
	double v = strtod(buf, &end);
	if (end != buf + len || errno == ERANGE || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* A double that must be a whole number in [lo, hi]. */
static int token_int(const char *tok, size_t len, long lo, long hi, long *out)
{
	double v;
	if (token_double(tok, len, &v) != 0 || v != floor(v) || v < (double)lo || v > (double)hi)
		return -1;
	*out = (long)v;
	return 0;
}

static int line_is_blank(const line_t *ln)
{
	for (const char *q = ln->p; q < ln->end; q++)
		if (!is_blank((unsigned char)*q))
			return 0;
	return 1;
}

/* Does the line start with a number (a data row rather than a header)? */
static int line_is_numeric(const line_t *ln)
{
	line_t c = *ln;
	const char *tok;
	size_t len;
	double v;
	return next_token(&c, &tok, &len) && token_double(tok, len, &v) == 0;
}

static int line_first_word_is(const line_t *ln, const char *word)
{
	line_t c = *ln;
	const char *tok;
	size_t len, wl = strlen(word);
	if (!next_token(&c, &tok, &len) || len != wl)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (toupper((unsigned char)tok[i]) != word[i])
			return 0;
	return 1;
}

/* Grows the per-node arrays to hold at least need rows. */
static int grow_rows(solomon_instance_t *inst, int *capn, int need)
{
	if (need <= *capn)
		return 0;
	int nc = *capn ? *capn * 2 : 128;
	while (nc < need)
		nc *= 2;
	void *p;
#define GROW(field)                                                                                                    \
	do {                                                                                                           \
		p = realloc(inst->field, (size_t)nc * sizeof(*inst->field));                                           \
		if (p == NULL)                                                                                         \
			return -1;                                                                                     \
		inst->field = p;                                                                                       \
	} while (0)
	GROW(id);
	GROW(x);
	GROW(y);
	GROW(demand);
	GROW(ready);
	GROW(due);
	GROW(service);
#undef GROW
	*capn = nc;
	return 0;
}

int solomon_parse(const char *text, size_t len, solomon_instance_t *inst, char *err, size_t errlen)
{
	int rc = -1;
	enum { S_NAME, S_VEH_HDR, S_VEH, S_CUST_HDR, S_ROWS } st = S_NAME;
	const char *p = text, *end = text + len;
	long lineno = 0;
	int capn = 0;

	if (inst == NULL || (text == NULL && len > 0)) {
		err_set(err, errlen, "internal: no instance");
		return -1;
	}
	memset(inst, 0, sizeof(*inst));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		line_t ln = {p, nl ? nl : end};
		const char *tok;
		size_t tl;
		p = nl ? nl + 1 : end;
		lineno++;
		if (memchr(ln.p, '\0', (size_t)(ln.end - ln.p)) != NULL) {
			err_set(err, errlen, "line %ld: NUL byte in text", lineno);
			goto out;
		}
		if (line_is_blank(&ln))
			continue;
		switch (st) {
		case S_NAME: {
			line_t c = ln;
			if (!next_token(&c, &tok, &tl))
				continue;
			if (tl > SOLOMON_MAX_NAME)
				tl = SOLOMON_MAX_NAME;
			inst->name = malloc(tl + 1);
			if (inst->name == NULL) {
				err_set(err, errlen, "out of memory");
				goto out;
			}
			memcpy(inst->name, tok, tl);
			inst->name[tl] = '\0';
			st = S_VEH_HDR;
			break;
		}
		case S_VEH_HDR:
			if (line_first_word_is(&ln, "VEHICLE"))
				st = S_VEH;
			else {
				err_set(err, errlen, "line %ld: expected VEHICLE section", lineno);
				goto out;
			}
			break;
		case S_VEH: {
			if (!line_is_numeric(&ln))
				continue; /* the NUMBER CAPACITY header */
			line_t c = ln;
			long nv, cap;
			if (!next_token(&c, &tok, &tl) || token_int(tok, tl, 1, SOLOMON_MAX_VEHICLES, &nv) != 0 ||
			    !next_token(&c, &tok, &tl) || token_int(tok, tl, 1, INT_MAX, &cap) != 0 ||
			    next_token(&c, &tok, &tl)) {
				err_set(err, errlen,
				        "line %ld: expected vehicle NUMBER (1..%d) and CAPACITY (positive integer)",
				        lineno, SOLOMON_MAX_VEHICLES);
				goto out;
			}
			inst->nvehicles = (int)nv;
			inst->capacity = (int)cap;
			st = S_CUST_HDR;
			break;
		}
		case S_CUST_HDR:
			if (line_first_word_is(&ln, "CUSTOMER"))
				st = S_ROWS;
			else {
				err_set(err, errlen, "line %ld: expected CUSTOMER section", lineno);
				goto out;
			}
			break;
		case S_ROWS: {
			if (inst->n == 0 && !line_is_numeric(&ln))
				continue; /* column headers */
			line_t c = ln;
			double f[7];
			int k = 0;
			while (next_token(&c, &tok, &tl)) {
				if (k == 7 || token_double(tok, tl, &f[k]) != 0) {
					err_set(err, errlen, "line %ld: a customer row has exactly 7 numbers", lineno);
					goto out;
				}
				k++;
			}
			if (k != 7) {
				err_set(err, errlen, "line %ld: a customer row has exactly 7 numbers", lineno);
				goto out;
			}
			if (inst->n >= SOLOMON_MAX_NODES) {
				err_set(err, errlen, "line %ld: more than %d nodes", lineno, SOLOMON_MAX_NODES);
				goto out;
			}
			if (grow_rows(inst, &capn, inst->n + 1) != 0) {
				err_set(err, errlen, "out of memory");
				goto out;
			}
			int i = inst->n;
			if (f[0] != (double)i) {
				err_set(err, errlen,
				        "line %ld: CUST NO. must be %d (rows numbered from 0, depot first)", lineno, i);
				goto out;
			}
			if (f[3] < 0 || f[3] != floor(f[3]) || f[3] > (double)INT_MAX) {
				err_set(err, errlen, "line %ld: DEMAND must be a non-negative integer", lineno);
				goto out;
			}
			if (f[6] < 0) {
				err_set(err, errlen, "line %ld: SERVICE TIME must be >= 0", lineno);
				goto out;
			}
			if (fabs(f[1]) > 1e9 || fabs(f[2]) > 1e9 || fabs(f[4]) > 1e12 || fabs(f[5]) > 1e12 ||
			    f[6] > 1e12) {
				err_set(err, errlen, "line %ld: value out of range", lineno);
				goto out;
			}
			inst->id[i] = i;
			inst->x[i] = f[1];
			inst->y[i] = f[2];
			inst->demand[i] = (int)f[3];
			inst->ready[i] = f[4];
			inst->due[i] = f[5];
			inst->service[i] = f[6];
			inst->n++;
			break;
		}
		}
	}
	if (st != S_ROWS || inst->n == 0) {
		err_set(err, errlen, "%s",
		        st == S_NAME       ? "empty file"
		        : st == S_VEH_HDR  ? "missing VEHICLE section"
		        : st == S_VEH      ? "missing vehicle NUMBER and CAPACITY"
		        : st == S_CUST_HDR ? "missing CUSTOMER section"
		                           : "no customer rows");
		goto out;
	}
	if (inst->due[0] < inst->ready[0]) {
		err_set(err, errlen, "depot DUE DATE is before its READY TIME");
		goto out;
	}

	size_t n = (size_t)inst->n;
	inst->travel = malloc(n * n * sizeof(double));
	if (inst->travel == NULL) {
		err_set(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			inst->travel[i * n + j] = hypot(inst->x[i] - inst->x[j], inst->y[i] - inst->y[j]);

	vrptw_problem_t *pr = &inst->problem;
	memset(pr, 0, sizeof(*pr));
	pr->n = inst->n;
	pr->ndepots = 1;
	pr->travel = inst->travel;
	pr->demand = inst->demand;
	pr->ready = inst->ready;
	pr->due = inst->due;
	pr->service = inst->service;
	/* Vehicles are identical: more of them than customers is never useful. */
	pr->nvehicles = inst->nvehicles < inst->n - 1 ? inst->nvehicles : inst->n - 1;
	pr->capacity = inst->capacity;
	rc = 0;
out:
	if (rc != 0)
		solomon_free(inst);
	return rc;
}

int solomon_read(const char *path, solomon_instance_t *inst, char *err, size_t errlen)
{
	int rc = -1;
	FILE *f = NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	char msg[256];

	if (inst != NULL)
		memset(inst, 0, sizeof(*inst));
	f = fopen(path, "rb");
	if (f == NULL) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	for (;;) {
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 16384;
			if (nc > (size_t)SOLOMON_MAX_FILE + 1)
				nc = (size_t)SOLOMON_MAX_FILE + 1;
			if (nc <= cap) {
				err_set(err, errlen, "%s: file larger than %ld bytes", path, SOLOMON_MAX_FILE);
				goto out;
			}
			char *nb = realloc(buf, nc);
			if (nb == NULL) {
				err_set(err, errlen, "%s: out of memory", path);
				goto out;
			}
			buf = nb;
			cap = nc;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		err_set(err, errlen, "%s: read error", path);
		goto out;
	}
	if (solomon_parse(buf, len, inst, msg, sizeof(msg)) != 0) {
		err_set(err, errlen, "%s: %s", path, msg);
		goto out;
	}
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	free(buf);
	return rc;
}

int solomon_write_json(FILE *f, const solomon_instance_t *inst, const vrptw_solution_t *sol)
{
	int bad = 0;
	bad |= fprintf(f, "{\"vehicles\": %d, \"distance\": %.6f, \"routes\": [", sol->nroutes, sol->distance) < 0;
	for (int k = 0; k < sol->nroutes; k++) {
		const vrptw_route_t *rt = &sol->routes[k];
		bad |= fprintf(f, "%s[", k ? ", " : "") < 0;
		for (int i = 0; i < rt->len; i++)
			bad |= fprintf(f, "%s%d", i ? ", " : "", inst->id[rt->visits[i]]) < 0;
		bad |= fputc(']', f) == EOF;
	}
	bad |= fputc(']', f) == EOF;
	if (sol->nunassigned > 0) {
		bad |= fprintf(f, ", \"unassigned\": [") < 0;
		for (int j = 0; j < sol->nunassigned; j++)
			bad |= fprintf(f, "%s%d", j ? ", " : "", inst->id[sol->unassigned[j]]) < 0;
		bad |= fputc(']', f) == EOF;
	}
	bad |= fputs("}\n", f) == EOF;
	bad |= fflush(f) != 0;
	return bad ? -1 : 0;
}

static void plan_usage(FILE *f)
{
	fprintf(f,
	        "usage: mitan plan --solomon FILE [--seed S] [--time-limit SECONDS]"
	        " [--iterations N]\n"
	        "  Plans routes for a Solomon-format VRPTW instance and prints JSON\n"
	        "  {\"vehicles\": n, \"distance\": d, \"routes\": [[customer numbers...], ...]}.\n"
	        "  --seed S            random seed (default 1)\n"
	        "  --time-limit SECS   wall-clock budget (default 1; 0 < SECS <= %g)\n"
	        "  --iterations N      step budget; alone it disables the time limit and\n"
	        "                      makes the result identical on every machine\n",
	        SOLOMON_MAX_TIME_LIMIT_S);
}

/* --name VALUE or --name=VALUE; returns the value or NULL (not this option).
 * *missing is set when the option is there without a value. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *missing)
{
	size_t nl = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, nl) != 0)
		return NULL;
	if (a[nl] == '=')
		return a + nl + 1;
	if (a[nl] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	(*i)++;
	return argv[*i];
}

/* The options of `mitan plan --solomon`, tried in this order on each argument. */
enum { PLAN_OPT_SOLOMON, PLAN_OPT_SEED, PLAN_OPT_TIME_LIMIT, PLAN_OPT_ITERATIONS, PLAN_OPT_COUNT };
static const char *const plan_opts[PLAN_OPT_COUNT] = {
    [PLAN_OPT_SOLOMON] = "--solomon",
    [PLAN_OPT_SEED] = "--seed",
    [PLAN_OPT_TIME_LIMIT] = "--time-limit",
    [PLAN_OPT_ITERATIONS] = "--iterations",
};

int solomon_plan_main(int argc, char **argv)
{
	int rc = 2;
	const char *file = NULL;
	vrptw_options_t opt;
	int have_limit = 0, have_iter = 0;
	solomon_instance_t inst;
	vrptw_solution_t sol;
	char err[512];

	memset(&inst, 0, sizeof(inst));
	memset(&sol, 0, sizeof(sol));
	vrptw_options_init(&opt);
	for (int i = 0; i < argc; i++) {
		const char *v;
		int missing = 0;
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			plan_usage(stdout);
			rc = 0;
			goto out;
		}
		int which;
		for (which = 0; which < PLAN_OPT_COUNT; which++) {
			v = opt_value(argc, argv, &i, plan_opts[which], &missing);
			if (v != NULL)
				break;
		}
		if (which == PLAN_OPT_SOLOMON) {
			if (*v == '\0') {
				fprintf(stderr, "mitan plan: --solomon needs a file name\n");
				goto out;
			}
			file = v;
		} else if (which == PLAN_OPT_SEED) {
			char *e;
			errno = 0;
			unsigned long long s = strtoull(v, &e, 10);
			if (!isdigit((unsigned char)*v) || *e != '\0' || errno == ERANGE) {
				fprintf(stderr, "mitan plan: --seed wants a non-negative integer, not '%s'\n", v);
				goto out;
			}
			opt.seed = s;
		} else if (which == PLAN_OPT_TIME_LIMIT) {
			char *e;
			errno = 0;
			double t = strtod(v, &e);
			if (e == v || *e != '\0' || errno == ERANGE || !isfinite(t) || t <= 0.0 ||
			    t > SOLOMON_MAX_TIME_LIMIT_S) {
				fprintf(stderr, "mitan plan: --time-limit wants seconds in (0, %g], not '%s'\n",
				        SOLOMON_MAX_TIME_LIMIT_S, v);
				goto out;
			}
			opt.time_limit_s = t;
			have_limit = 1;
		} else if (which == PLAN_OPT_ITERATIONS) {
			char *e;
			errno = 0;
			long n = strtol(v, &e, 10);
			if (!isdigit((unsigned char)*v) || *e != '\0' || errno == ERANGE || n < 1) {
				fprintf(stderr, "mitan plan: --iterations wants a positive integer, not '%s'\n", v);
				goto out;
			}
			opt.max_iterations = n;
			have_iter = 1;
		} else {
			if (missing)
				fprintf(stderr, "mitan plan: %s needs a value\n", a);
			else
				fprintf(stderr, "mitan plan: unknown argument '%s'\n", a);
			plan_usage(stderr);
			goto out;
		}
	}
	if (file == NULL) {
		fprintf(stderr, "mitan plan: --solomon FILE is required\n");
		plan_usage(stderr);
		goto out;
	}
	if (have_iter && !have_limit)
		opt.time_limit_s = 0.0;

	if (solomon_read(file, &inst, err, sizeof(err)) != 0) {
		fprintf(stderr, "mitan plan: %s\n", err);
		goto out;
	}
	int src = vrptw_solve(&inst.problem, &opt, &sol);
	if (src != VRPTW_OK) {
		fprintf(stderr, "mitan plan: %s\n",
		        src == VRPTW_ENOMEM ? "out of memory (instance too large?)" : "invalid instance");
		rc = src == VRPTW_ENOMEM ? 3 : 2;
		goto out;
	}
	if (solomon_write_json(stdout, &inst, &sol) != 0) {
		fprintf(stderr, "mitan plan: cannot write the result\n");
		rc = 2;
		goto out;
	}
	if (sol.nunassigned > 0) {
		fprintf(stderr, "mitan plan: %d customer(s) could not be served\n", sol.nunassigned);
		rc = 1;
		goto out;
	}
	rc = 0;
out:
	vrptw_solution_free(&sol);
	solomon_free(&inst);
	return rc;
}
