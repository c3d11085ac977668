/* util: allocation that aborts on OOM, a bounded growable byte buffer, number parsing, and
 * the check of text a person typed. */
#ifndef MITAN_UTIL_H
#define MITAN_UTIL_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* A growable buffer that refuses to grow past `limit` bytes (0 = no limit).
 * `data` is always NUL-terminated after a successful append. */
typedef struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit;
} buf_t;

void buf_init(buf_t *b, size_t limit);
void buf_free(buf_t *b);
void buf_reset(buf_t *b);
/* Each returns 0, or -1 when the limit would be passed (the buffer is unchanged). */
int buf_append(buf_t *b, const void *p, size_t n);
int buf_puts(buf_t *b, const char *s);
int buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf_t *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends s with XML/HTML special characters escaped. */
int buf_put_html(buf_t *b, const char *s);

/* Parses a whole decimal integer in [min, max]; 0 on success. */
#define PARSE_EXACT_MAX 9007199254740991L /* 2^53 - 1: the largest integer every JSON reader holds exactly */
int parse_long(const char *s, long min, long max, long *out);
int parse_double(const char *s, double *out);

/* Text a person typed (a name, an address, a note, a file name), as UTF-8: what is wrong
 * with it, or TEXT_CLEAN. Refused: bytes that are not well-formed UTF-8; control characters
 * (C0 but line breaks and tabs when `lines`, DEL, C1); Unicode format characters (Cf: bidi
 * embeddings, overrides, isolates and marks, zero-width spaces, the BOM) and the line and
 * paragraph separators. ZWJ and ZWNJ are kept between two Devanagari or two Gurmukhi
 * characters, where Hindi and Punjabi spelling needs them. */
enum text_fault {
	TEXT_CLEAN = 0,
	TEXT_NOT_UTF8,
	TEXT_CONTROL,
	TEXT_INVISIBLE,
};
enum text_fault text_check(const char *s, int lines);
/* 1 when text_check(s, 0) finds nothing wrong. */
int text_is_clean(const char *s);
#define TEXT_INVISIBLE_MESSAGE "must not contain invisible or direction-changing characters"

#endif
