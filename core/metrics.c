#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define METRICS_BUCKETS 12
#define METRICS_NAMED   64

static const int64_t metrics_bounds_us[METRICS_BUCKETS] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 5000000,
};

static _Atomic long metrics_status[6]; /* by status class 1xx..5xx */
static _Atomic long metrics_hist[METRICS_BUCKETS + 1];
static _Atomic long long metrics_sum_us;

struct metrics_named {
	const char *name;
	const char *label; /* error code label, or NULL for a plain counter */
	_Atomic long value;
};
static struct metrics_named metrics_table[METRICS_NAMED];
static int metrics_used;
static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;

void metrics_request(int status, int64_t duration_us)
{
	int cls = status / 100;
	int b = 0;
	if (cls >= 1 && cls <= 5)
		atomic_fetch_add(&metrics_status[cls], 1);
	while (b < METRICS_BUCKETS && duration_us > metrics_bounds_us[b])
		b++;
	atomic_fetch_add(&metrics_hist[b], 1);
	atomic_fetch_add(&metrics_sum_us, duration_us);
}

static void metrics_add(const char *name, const char *label, long delta)
{
	int i;
	/* Entries are never removed: a lock-free read of the filled prefix is safe after the
	 * name is published under the lock. */
	pthread_mutex_lock(&metrics_lock);
	for (i = 0; i < metrics_used; i++)
		if (strcmp(metrics_table[i].name, name) == 0 &&
		    (metrics_table[i].label == label ||
		     (label && metrics_table[i].label && strcmp(metrics_table[i].label, label) == 0)))
			break;
	if (i == metrics_used && metrics_used < METRICS_NAMED) {
		metrics_table[i].name = name;
		metrics_table[i].label = label;
		metrics_used++;
	}
	pthread_mutex_unlock(&metrics_lock);
	if (i < METRICS_NAMED)
		atomic_fetch_add(&metrics_table[i].value, delta);
}

void metrics_error(const char *code)
{
	metrics_add("mitan_http_errors_total", code, 1);
}

void metrics_count(const char *name, long delta)
{
	metrics_add(name, NULL, delta);
}

int metrics_render(buf_t *out)
{
	long cumulative = 0;
	int rc = 0;
	rc |= buf_puts(out, "# TYPE mitan_http_requests_total counter\n");
	for (int c = 1; c <= 5; c++)
		rc |= buf_printf(out, "mitan_http_requests_total{class=\"%dxx\"} %ld\n", c,
		                 atomic_load(&metrics_status[c]));
	rc |= buf_puts(out, "# TYPE mitan_http_request_duration_seconds histogram\n");
	for (int b = 0; b < METRICS_BUCKETS; b++) {
		cumulative += atomic_load(&metrics_hist[b]);
		rc |= buf_printf(out, "mitan_http_request_duration_seconds_bucket{le=\"%g\"} %ld\n",
		                 (double)metrics_bounds_us[b] / 1e6, cumulative);
	}
	cumulative += atomic_load(&metrics_hist[METRICS_BUCKETS]);
	rc |= buf_printf(out, "mitan_http_request_duration_seconds_bucket{le=\"+Inf\"} %ld\n", cumulative);
	rc |= buf_printf(out, "mitan_http_request_duration_seconds_sum %.6f\n",
	                 (double)atomic_load(&metrics_sum_us) / 1e6);
	rc |= buf_printf(out, "mitan_http_request_duration_seconds_count %ld\n", cumulative);
	pthread_mutex_lock(&metrics_lock);
	int used = metrics_used;
	pthread_mutex_unlock(&metrics_lock);
	for (int i = 0; i < used; i++) {
		struct metrics_named *m = &metrics_table[i];
		if (m->label)
			rc |= buf_printf(out, "%s{code=\"%s\"} %ld\n", m->name, m->label, atomic_load(&m->value));
		else
			rc |= buf_printf(out, "%s %ld\n", m->name, atomic_load(&m->value));
	}
	return rc;
}
