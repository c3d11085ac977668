#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
	fprintf(stderr, "mitan: out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t count, size_t n)
{
	void *p = calloc(count ? count : 1, n ? n : 1);
	if (!p)
		oom(count * n);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xmalloc(n);
	memcpy(p, s, n);
	return p;
}

void buf_init(buf_t *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
}

void buf_free(buf_t *b)
{
	free(b->data);
	buf_init(b, b->limit);
}

void buf_reset(buf_t *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int buf_reserve(buf_t *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need < b->len || (b->limit && b->len + extra > b->limit))
		return -1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
	return 0;
}

int buf_append(buf_t *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) != 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(buf_t *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_vprintf(buf_t *b, const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0 || buf_reserve(b, (size_t)n) != 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(buf_t *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int buf_put_html(buf_t *b, const char *s)
{
	for (; *s; s++) {
		const char *rep = NULL;
		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			break;
		}
		if (rep ? buf_puts(b, rep) : buf_append(b, s, 1))
			return -1;
	}
	return 0;
}

int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	if (!s || !*s)
		return -1;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_double(const char *s, double *out)
{
	char *end;
	if (!s || !*s)
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* ---- text a person typed ---- */

#define TEXT_ZWNJ 0x200c /* zero width non-joiner */
#define TEXT_ZWJ  0x200d /* zero width joiner */

struct text_range {
	long lo, hi;
};

/* Unicode's format characters (general category Cf, Unicode 15) and the line and paragraph
 * separators: invisible, and the bidi controls among them reorder the text around them, so
 * a name or a file name could read differently from what it is. */
static const struct text_range text_invisible[] = {
    {0x00ad, 0x00ad},   {0x0600, 0x0605},   {0x061c, 0x061c},   {0x06dd, 0x06dd},   {0x070f, 0x070f},
    {0x0890, 0x0891},   {0x08e2, 0x08e2},   {0x180e, 0x180e},   {0x200b, 0x200f},   {0x2028, 0x202e},
    {0x2060, 0x2064},   {0x2066, 0x206f},   {0xfeff, 0xfeff},   {0xfff9, 0xfffb},   {0x110bd, 0x110bd},
    {0x110cd, 0x110cd}, {0x13430, 0x1343f}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0001, 0xe0001},
    {0xe0020, 0xe007f},
};

/* The scripts whose spelling needs ZWJ and ZWNJ (half forms, explicit viramas): Devanagari
 * (Hindi) and Gurmukhi (Punjabi). */
static const struct text_range text_joining_scripts[] = {
    {0x0900, 0x097f},
    {0x0a00, 0x0a7f},
};

static int text_in(const struct text_range *r, size_t n, long c)
{
	for (size_t i = 0; i < n; i++)
		if (c >= r[i].lo && c <= r[i].hi)
			return 1;
	return 0;
}

/* A joiner is kept only between two characters of the same joining script. */
static int text_joins(long before, long after)
{
	for (size_t i = 0; i < sizeof text_joining_scripts / sizeof text_joining_scripts[0]; i++) {
		const struct text_range *r = &text_joining_scripts[i];
		if (before >= r->lo && before <= r->hi && after >= r->lo && after <= r->hi)
			return 1;
	}
	return 0;
}

/* The code point at *p, advancing *p past it; -1 when the bytes there are not well-formed
 * UTF-8 (a stray or missing continuation byte, an overlong form, a surrogate, past U+10FFFF). */
static long text_decode(const unsigned char **p)
{
	const unsigned char *s = *p;
	long c;
	int more;
	if (s[0] < 0x80) {
		*p = s + 1;
		return s[0];
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		more = 1;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		more = 2;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		more = 3;
		c = s[0] & 0x07;
	} else {
		return -1;
	}
	for (int i = 1; i <= more; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
			return -1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((more == 2 && c < 0x800) || (more == 3 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*p = s + more + 1;
	return c;
}

enum text_fault text_check(const char *s, int lines)
{
	const unsigned char *p = (const unsigned char *)s;
	long before = -1;
	while (*p) {
		long c = text_decode(&p);
		if (c < 0)
			return TEXT_NOT_UTF8;
		int line = c == '\n' || c == '\r' || c == '\t';
		if ((c < 0x20 && !(lines && line)) || (c >= 0x7f && c <= 0x9f))
			return TEXT_CONTROL;
		if (c == TEXT_ZWNJ || c == TEXT_ZWJ) {
			const unsigned char *q = p;
			long after = *q ? text_decode(&q) : -1;
			if (!text_joins(before, after))
				return TEXT_INVISIBLE;
		} else if (text_in(text_invisible, sizeof text_invisible / sizeof text_invisible[0], c)) {
			return TEXT_INVISIBLE;
		}
		before = c;
	}
	return TEXT_CLEAN;
}

int text_is_clean(const char *s)
{
	return text_check(s, 0) == TEXT_CLEAN;
}
