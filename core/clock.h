/* clock: the one source of "now". Real time, shifted by an offset that MITAN_NOW (dev and
 * test only) or the test clock endpoint sets; time goes on from there. SQL never calls
 * now(): handlers pass this clock's time as a parameter. */
#ifndef MITAN_CLOCK_H
#define MITAN_CLOCK_H

#include <stdint.h>
#include <stddef.h>

#define CLOCK_US_PER_S INT64_C(1000000)
/* A buffer for clock_format's text ("2026-11-24T03:30:00.250000Z", 27 characters) and its NUL. */
#define CLOCK_TEXT_LEN 40

int64_t clock_now_us(void); /* microseconds since the epoch */
/* Makes clock_now_us() continue from the instant `rfc3339`. 0 on success. */
int clock_set(const char *rfc3339);
/* Parses an RFC 3339 timestamp with a Z or ±hh:mm offset into microseconds. 0 on success. */
int clock_parse_rfc3339(const char *s, int64_t *us);
/* Formats microseconds as RFC 3339 UTC with microseconds, for SQL parameters. */
void clock_format(int64_t us, char *out, size_t outlen);
/* The current time formatted by clock_format. */
void clock_now_text(char *out, size_t outlen);

/* 1 if s is a day of the calendar written YYYY-MM-DD (2026-02-30 is not). */
int clock_date_valid(const char *s);
/* 1 if s is a time of day written HH:MM (00:00 to 23:59). */
int clock_hhmm_valid(const char *s);

#endif
