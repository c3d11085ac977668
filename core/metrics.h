/* metrics: process counters in the Prometheus text format. */
#ifndef MITAN_METRICS_H
#define MITAN_METRICS_H

#include <stdint.h>

#include "util.h"

/* Records one finished HTTP request. */
void metrics_request(int status, int64_t duration_us);
/* Counts one error reply by its code (a fixed snake_case string). */
void metrics_error(const char *code);
/* Adds a named counter (static string name), e.g. "mitan_bookings_created_total". */
void metrics_count(const char *name, long delta);
int metrics_render(buf_t *out);

#endif
