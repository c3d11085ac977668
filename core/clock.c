#define _DEFAULT_SOURCE /* timegm */
#include "clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Atomic int64_t clock_offset_us;

static int64_t clock_real_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * CLOCK_US_PER_S + ts.tv_nsec / 1000;
}

int64_t clock_now_us(void)
{
	return clock_real_us() + atomic_load(&clock_offset_us);
}

static int clock_digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int clock_parse_rfc3339(const char *s, int64_t *us)
{
	int y, mo, d, h, mi, sec, frac_us = 0, oh = 0, om = 0, sign = 0;
	struct tm tm;
	const char *p;

	if (strlen(s) < 20 || clock_digits(s, 4, &y) || s[4] != '-' || clock_digits(s + 5, 2, &mo) || s[7] != '-' ||
	    clock_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    clock_digits(s + 11, 2, &h) || s[13] != ':' || clock_digits(s + 14, 2, &mi) || s[16] != ':' ||
	    clock_digits(s + 17, 2, &sec))
		return -1;
	p = s + 19;
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 6)
				frac_us = frac_us * 10 + (*p - '0');
		if (digits == 0)
			return -1;
		for (; digits < 6; digits++)
			frac_us *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (clock_digits(p + 1, 2, &oh) || p[3] != ':' || clock_digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		p += 6;
	} else {
		return -1;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	/* timegm normalises 31 February into March: refuse dates that moved. */
	struct tm back;
	gmtime_r(&t, &back);
	if (back.tm_mday != d || back.tm_mon != mo - 1)
		return -1;
	t -= (time_t)sign * (oh * 3600 + om * 60);
	*us = (int64_t)t * CLOCK_US_PER_S + frac_us;
	return 0;
}

int clock_set(const char *rfc3339)
{
	int64_t target;
	if (clock_parse_rfc3339(rfc3339, &target) != 0)
		return -1;
	atomic_store(&clock_offset_us, target - clock_real_us());
	return 0;
}

void clock_format(int64_t us, char *out, size_t outlen)
{
	time_t t = (time_t)(us / CLOCK_US_PER_S);
	long frac = (long)(us % CLOCK_US_PER_S);
	struct tm tm;
	char base[32];
	if (frac < 0) {
		t--;
		frac += CLOCK_US_PER_S;
	}
	gmtime_r(&t, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outlen, "%s.%06ldZ", base, frac);
}

void clock_now_text(char *out, size_t outlen)
{
	clock_format(clock_now_us(), out, outlen);
}

int clock_date_valid(const char *s)
{
	char probe[32];
	int64_t us;
	if (strlen(s) != 10 || strspn(s, "0123456789-") != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	snprintf(probe, sizeof probe, "%sT00:00:00Z", s);
	return clock_parse_rfc3339(probe, &us) == 0;
}

int clock_hhmm_valid(const char *s)
{
	return strlen(s) == 5 && s[2] == ':' && strspn(s, "0123456789:") == 5 &&
	       ((s[0] - '0') * 10 + (s[1] - '0')) < 24 && ((s[3] - '0') * 10 + (s[4] - '0')) < 60 && s[0] != ':' &&
	       s[1] != ':' && s[3] != ':' && s[4] != ':';
}
