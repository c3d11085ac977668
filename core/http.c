#include "http.h"

#include <civetweb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

static struct mg_context *http_ctx;
/* "timeout=N": how long the server keeps an idle connection open (keep_alive_ms, whole
 * seconds). Clients that read it (Node's fetch, curl) stop reusing a connection before the
 * server closes it, instead of sending a request into a connection that is closing. */
static char http_keep_alive[32];
static const struct http_route *http_routes;
static size_t http_nroutes;

/* The browser-facing headers of every reply: the API's here, the static files' through
 * civetweb's additional_header (http_start), so pages and data say the same.
 * The policy allows what the pages use and no more: their own scripts, styles, images and
 * API calls; by hash, the resident page's inline boot script (it preloads the modules before
 * anything is drawn) and the landing page's inline style (edit either and its hash must follow:
 * the browser tests report the violation); data: for the empty favicon, blob: for the receipt
 * image fetched with the bearer token; no plugins, no <base>, no framing. */
#define HTTP_CSP                                                                                                       \
	"default-src 'self'; "                                                                                         \
	"script-src 'self' 'sha256-XQrHHC6Jx0smyuDRnbaFqApLaT8wVDLEVmxhyBuevZc='; "                                    \
	"style-src 'self' 'sha256-1HTijvcS7r1oDNsk5LGd5WJzL4lz4OgqWJIGrqeZd/s='; "                                     \
	"img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
/* The resident page asks for the location; the agent app photographs documents. */
#define HTTP_PERMISSIONS                                                                                               \
	"geolocation=(self), camera=(self), microphone=(), payment=(), usb=(), serial=(), hid=(), "                    \
	"midi=(), accelerometer=(), gyroscope=(), magnetometer=(), display-capture=()"
/* Tracking links carry their token in the path: no page ever hands its address on. */
#define HTTP_REFERRER "no-referrer"
#define HTTP_NOSNIFF  "nosniff"
/* civetweb guesses a manifest as text/plain; browsers want its own type. */
#define HTTP_MIME_TYPES ".webmanifest=application/manifest+json"

void http_reply_start(struct http_req *r, int status, const char *content_type, const char *const *headers, size_t len)
{
	char length[32];
	if (r->status) {
		log_error("http: second reply to one request (status %d then %d)", r->status, status);
		return;
	}
	r->status = status;
	snprintf(length, sizeof length, "%zu", len);
	mg_response_header_start(r->conn, status);
	if (content_type) /* NULL for a reply without a body */
		mg_response_header_add(r->conn, "Content-Type", content_type, -1);
	mg_response_header_add(r->conn, "Content-Length", length, -1);
	mg_response_header_add(r->conn, "X-Request-Id", r->request_id, -1);
	mg_response_header_add(r->conn, "Cache-Control", "no-store", -1);
	mg_response_header_add(r->conn, "X-Content-Type-Options", HTTP_NOSNIFF, -1);
	mg_response_header_add(r->conn, "Content-Security-Policy", HTTP_CSP, -1);
	mg_response_header_add(r->conn, "Permissions-Policy", HTTP_PERMISSIONS, -1);
	mg_response_header_add(r->conn, "Referrer-Policy", HTTP_REFERRER, -1);
	mg_response_header_add(r->conn, "Keep-Alive", http_keep_alive, -1);
	for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
		mg_response_header_add(r->conn, headers[i], headers[i + 1], -1);
	mg_response_header_send(r->conn);
}

int http_write(struct http_req *r, const void *data, size_t len)
{
	if (!len || strcmp(r->method, "HEAD") == 0)
		return 0;
	return mg_write(r->conn, data, len) == (int)len ? 0 : -1;
}

void http_reply_headers(struct http_req *r, int status, const char *content_type, const char *const *headers,
                        const void *data, size_t len)
{
	if (r->status) {
		log_error("http: second reply to one request (status %d then %d)", r->status, status);
		return;
	}
	http_reply_start(r, status, content_type, headers, len);
	http_write(r, data, len);
}

int http_read(struct http_req *r, void *buf, size_t n)
{
	return mg_read(r->conn, buf, n > INT32_MAX ? INT32_MAX : n);
}

long long http_content_length(struct http_req *r)
{
	return mg_get_request_info(r->conn)->content_length;
}

void http_reply(struct http_req *r, int status, const char *content_type, const void *data, size_t len)
{
	http_reply_headers(r, status, content_type, NULL, data, len);
}

void http_reply_json(struct http_req *r, int status, json_t *body)
{
	/* 15 significant digits: what a double holds exactly in decimal, so 21.28 stays 21.28. */
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
	if (!text) {
		json_decref(body);
		http_error(r, 500, "internal_error", "the reply could not be encoded");
		return;
	}
	http_reply(r, status, "application/json; charset=utf-8", text, strlen(text));
	free(text);
	json_decref(body);
}

static void http_error_v(struct http_req *r, int status, const char *code, const char *field,
                         const char *const *headers, const char *fmt, va_list ap)
{
	char message[512];
	vsnprintf(message, sizeof message, fmt, ap);
	json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);
	if (field)
		json_object_set_new(err, "field", json_string(field));
	json_t *body = json_pack("{s:o}", "error", err);
	char *text = json_dumps(body, JSON_COMPACT);
	metrics_error(code);
	if (status >= 500)
		log_error("%s %s -> %d %s: %s", r->method, r->path, status, code, message);
	else
		log_info("%s %s -> %d %s: %s", r->method, r->path, status, code, message);
	http_reply_headers(r, status, "application/json; charset=utf-8", headers, text, text ? strlen(text) : 0);
	free(text);
	json_decref(body);
}

void http_error(struct http_req *r, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	char seconds[16];
	snprintf(seconds, sizeof seconds, "%d", r->retry_after > 0 ? r->retry_after : 5);
	const char *headers[] = {"Retry-After", seconds, NULL};
	va_start(ap, fmt);
	http_error_v(r, status, code, NULL, status == 429 || status == 503 ? headers : NULL, fmt, ap);
	va_end(ap);
}

void http_error_headers(struct http_req *r, int status, const char *code, const char *const *headers, const char *fmt,
                        ...)
{
	va_list ap;
	va_start(ap, fmt);
	http_error_v(r, status, code, NULL, headers, fmt, ap);
	va_end(ap);
}

static void http_error_with_field(struct http_req *r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void http_error_with_field(struct http_req *r, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	http_error_v(r, 400, "invalid_field", field, NULL, fmt, ap);
	va_end(ap);
}

void http_error_field(struct http_req *r, const char *field, const char *message)
{
	http_error_with_field(r, field, "%s: %s", field, message);
}

void http_error_db(struct http_req *r, enum db_status st)
{
	switch (st) {
	case DB_OK:
		http_error(r, 500, "internal_error", "unexpected state");
		break;
	case DB_DOWN:
		http_error(r, 503, "unavailable", "the database is unavailable; nothing was changed, try again");
		break;
	case DB_UNIQUE:
		http_error(r, 409, "duplicate", "this already exists");
		break;
	case DB_CONSTRAINT:
		http_error(r, 409, "conflict", "the change conflicts with the current state");
		break;
	case DB_BAD_INPUT:
		http_error(r, 400, "invalid_value", "a value is out of range or malformed");
		break;
	case DB_RETRY:
		http_error(r, 503, "busy", "the server is busy; nothing was changed, try again");
		break;
	case DB_FAILED:
		http_error(r, 500, "internal_error", "an internal error occurred; nothing was changed");
		break;
	}
}

int http_query(struct http_req *r, const char *name, char *out, size_t outlen)
{
	if (!r->query)
		return 0;
	int n = mg_get_var(r->query, strlen(r->query), name, out, outlen);
	if (n == -1)
		return 0;
	return n < 0 ? -1 : 1;
}

const char *http_header(struct http_req *r, const char *name)
{
	return mg_get_header(r->conn, name);
}

const char *http_lang(struct http_req *r)
{
	char lang[8];
	return http_query(r, "lang", lang, sizeof lang) == 1 && strcmp(lang, "hi") == 0 ? "hi" : "en";
}

void http_reply_json_text(struct http_req *r, int status, const char *text)
{
	http_reply(r, status, "application/json; charset=utf-8", text, strlen(text));
}

void http_reply_query(struct http_req *r, const char *sql, int nparams, const char *const *params)
{
	enum db_status st;
	PGresult *res = db_exec(sql, nparams, params, &st);
	if (st != DB_OK)
		http_error_db(r, st);
	else
		http_reply_json_text(r, 200, db_get(res, 0, 0));
	PQclear(res);
}

/* ---- JSON shape checks ---- */

void jv_fail(struct jv *v, const char *where, const char *key, const char *message)
{
	if (v->failed)
		return;
	v->failed = 1;
	if (where && *where)
		snprintf(v->field, sizeof v->field, "%s.%s", where, key);
	else
		snprintf(v->field, sizeof v->field, "%s", key);
	snprintf(v->message, sizeof v->message, "%s", message);
}

void jv_only(struct jv *v, json_t *obj, const char *where, const char *const *allowed)
{
	const char *key;
	json_t *val;
	if (v->failed || !obj)
		return;
	json_object_foreach(obj, key, val)
	{
		size_t i;
		(void)val;
		for (i = 0; allowed[i]; i++)
			if (strcmp(allowed[i], key) == 0)
				break;
		if (!allowed[i]) {
			char shown[48];
			/* Echo only a short, printable prefix of an unknown key. */
			size_t j = 0;
			for (; key[j] && j < sizeof shown - 1; j++)
				shown[j] = (key[j] >= 0x20 && key[j] < 0x7f) ? key[j] : '?';
			shown[j] = '\0';
			jv_fail(v, where, shown, "unknown field");
			return;
		}
	}
}

static json_t *jv_member(struct jv *v, json_t *obj, const char *where, const char *key, int required)
{
	json_t *m;
	if (v->failed)
		return NULL;
	m = obj ? json_object_get(obj, key) : NULL;
	if ((!m || json_is_null(m)) && required)
		jv_fail(v, where, key, "is required");
	return m && !json_is_null(m) ? m : NULL;
}

/* The member `key` when it is a string; NULL when absent, or when it is not (then failed). */
static json_t *jv_member_string(struct jv *v, json_t *obj, const char *where, const char *key, int required)
{
	json_t *m = jv_member(v, obj, where, key, required);
	if (m && !json_is_string(m)) {
		jv_fail(v, where, key, "must be a string");
		return NULL;
	}
	return m;
}

/* A string's characters: well-formed UTF-8 without control characters (but line breaks and
 * tabs when `lines`), without NUL, and without invisible or direction-changing ones (the one
 * text_check every body's strings go through); counts them, and whether any is more than a
 * blank. 0 when it holds. */
static int jv_chars(struct jv *v, const char *where, const char *key, json_t *m, int lines, size_t *chars, int *visible)
{
	const unsigned char *s = (const unsigned char *)json_string_value(m);
	*chars = 0;
	*visible = 0;
	switch (text_check((const char *)s, lines)) {
	case TEXT_CLEAN:
		break;
	case TEXT_NOT_UTF8:
		jv_fail(v, where, key, "must be valid UTF-8");
		return -1;
	case TEXT_CONTROL:
		jv_fail(v, where, key,
		        lines ? "must not contain control characters other than line breaks"
		              : "must not contain control characters");
		return -1;
	case TEXT_INVISIBLE:
		jv_fail(v, where, key, TEXT_INVISIBLE_MESSAGE);
		return -1;
	}
	for (const unsigned char *p = s; *p; p++) {
		if ((*p & 0xc0) != 0x80)
			(*chars)++;
		if (*p > 0x20)
			*visible = 1;
	}
	if (json_string_length(m) != strlen((const char *)s)) {
		jv_fail(v, where, key, "must not contain NUL");
		return -1;
	}
	return 0;
}

const char *jv_string(struct jv *v, json_t *obj, const char *where, const char *key, int required, size_t minlen,
                      size_t maxlen)
{
	char msg[96];
	size_t chars;
	int visible;
	json_t *m = jv_member_string(v, obj, where, key, required);
	if (!m || jv_chars(v, where, key, m, 0, &chars, &visible) != 0)
		return NULL;
	if (chars < minlen || chars > maxlen) {
		snprintf(msg, sizeof msg, "must be %zu to %zu characters long", minlen, maxlen);
		jv_fail(v, where, key, msg);
		return NULL;
	}
	return json_string_value(m);
}

int jv_number(struct jv *v, json_t *obj, const char *where, const char *key, int required, double min, double max,
              double *out)
{
	char msg[96];
	json_t *m = jv_member(v, obj, where, key, required);
	if (!m)
		return 0;
	if (!json_is_number(m)) {
		jv_fail(v, where, key, "must be a number");
		return 0;
	}
	double d = json_number_value(m);
	if (!(d >= min && d <= max)) {
		snprintf(msg, sizeof msg, "must be a number from %g to %g", min, max);
		jv_fail(v, where, key, msg);
		return 0;
	}
	*out = d;
	return 1;
}

json_t *jv_object(struct jv *v, json_t *obj, const char *where, const char *key, int required)
{
	json_t *m = jv_member(v, obj, where, key, required);
	if (m && !json_is_object(m)) {
		jv_fail(v, where, key, "must be an object");
		return NULL;
	}
	return m;
}

void jv_reply(struct http_req *r, const struct jv *v)
{
	http_error_with_field(r, v->field, "%s: %s", v->field, v->message);
}

/* Free text (an account of what happened, a note): like jv_string, but line breaks and tabs
 * are allowed, and only blanks is not enough. */
static const char *jv_text(struct jv *v, json_t *obj, const char *where, const struct jv_field *f)
{
	char msg[96];
	size_t chars;
	int visible;
	json_t *m = jv_member_string(v, obj, where, f->key, f->required);
	if (!m || jv_chars(v, where, f->key, m, 1, &chars, &visible) != 0)
		return NULL;
	if (!visible || chars < (size_t)f->min || chars > (size_t)f->max) {
		snprintf(msg, sizeof msg, "must be %zu to %zu characters long, not only blanks", (size_t)f->min,
		         (size_t)f->max);
		jv_fail(v, where, f->key, msg);
		return NULL;
	}
	return json_string_value(m);
}

/* One of the row's choices; the message lists them ("must be a, b or c"). */
static const char *jv_choice(struct jv *v, json_t *obj, const char *where, const struct jv_field *f)
{
	char msg[sizeof v->message];
	size_t len;
	json_t *m = jv_member_string(v, obj, where, f->key, f->required);
	if (!m)
		return NULL;
	for (size_t i = 0; f->choices[i]; i++)
		if (strcmp(json_string_value(m), f->choices[i]) == 0)
			return f->choices[i];
	len = (size_t)snprintf(msg, sizeof msg, "must be %s", f->choices[0]);
	for (size_t i = 1; f->choices[i] && len < sizeof msg; i++)
		len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s", f->choices[i + 1] ? ", " : " or ",
		                        f->choices[i]);
	jv_fail(v, where, f->key, msg);
	return NULL;
}

/* A list of at most max strings, each accepted by the row's ok(). */
static json_t *jv_array(struct jv *v, json_t *obj, const char *where, const struct jv_field *f)
{
	char msg[sizeof v->message];
	size_t i;
	json_t *e, *m = jv_member(v, obj, where, f->key, f->required);
	if (!m)
		return NULL;
	if (!json_is_array(m) || json_array_size(m) > (size_t)f->max) {
		snprintf(msg, sizeof msg, "must be a list of at most %zu values", (size_t)f->max);
		jv_fail(v, where, f->key, msg);
		return NULL;
	}
	json_array_foreach(m, i, e)
	{
		if (json_is_string(e) && !text_is_clean(json_string_value(e))) {
			jv_fail(v, where, f->key,
			        "each value must not contain control, invisible or direction-changing characters");
			return NULL;
		}
		if (!json_is_string(e) || (f->ok && !f->ok(json_string_value(e)))) {
			snprintf(msg, sizeof msg, "each %s", f->why ? f->why : "must be a valid string");
			jv_fail(v, where, f->key, msg);
			return NULL;
		}
	}
	return m;
}

/* A member no row of the table names fails the check. */
static void jv_only_table(struct jv *v, json_t *obj, const char *where, const struct jv_field *fields)
{
	const char *names[64];
	size_t n = 0;
	for (const struct jv_field *f = fields; f->key && n < sizeof names / sizeof names[0] - 1; f++)
		names[n++] = f->key;
	names[n] = NULL;
	jv_only(v, obj, where, names);
}

int jv_check(struct jv *v, json_t *obj, const char *where, const struct jv_field *fields)
{
	char path[64];
	jv_only_table(v, obj, where, fields);
	for (const struct jv_field *f = fields; f->key && !v->failed; f++) {
		json_t *m = obj ? json_object_get(obj, f->key) : NULL;
		int given = m && !json_is_null(m);
		if (f->present)
			*f->present = 0;
		switch (f->kind) {
		case JV_STRING: {
			const char *s = jv_string(v, obj, where, f->key, f->required, (size_t)f->min, (size_t)f->max);
			if (s && f->ok && !f->ok(s))
				jv_fail(v, where, f->key, f->why ? f->why : "is not valid");
			if (f->str)
				*f->str = v->failed ? NULL : s;
			break;
		}
		case JV_NUMBER:
			if (jv_number(v, obj, where, f->key, f->required, f->min, f->max, f->num) && f->present)
				*f->present = 1;
			break;
		case JV_TEXT:
		case JV_CHOICE: {
			const char *s = f->kind == JV_TEXT ? jv_text(v, obj, where, f) : jv_choice(v, obj, where, f);
			if (f->str)
				*f->str = s;
			break;
		}
		case JV_ARRAY: {
			json_t *a = jv_array(v, obj, where, f);
			if (f->obj)
				*f->obj = a;
			break;
		}
		case JV_OBJECT: {
			json_t *o = jv_object(v, obj, where, f->key, f->required);
			if (f->obj)
				*f->obj = o;
			if (o && f->members) {
				snprintf(path, sizeof path, "%s%s%s", where && *where ? where : "",
				         where && *where ? "." : "", f->key);
				jv_check(v, o, path, f->members);
			}
			break;
		}
		}
		if (f->present && f->kind != JV_NUMBER)
			*f->present = given && !v->failed;
	}
	return v->failed ? -1 : 0;
}

int jv_check_or_reply(struct http_req *r, const struct jv_field *fields)
{
	struct jv v = {0};
	if (jv_check(&v, r->json, "", fields) == 0)
		return 0;
	jv_reply(r, &v);
	return -1;
}

/* ---- dispatch ---- */

/* Matches path against pattern; captures {} segments, URL-decoded, into r->params. */
static int http_match(const char *pattern, const char *path, struct http_req *r)
{
	int np = 0;
	const char *p = pattern, *s = path;
	while (*p && *s) {
		if (p[0] == '{') {
			const char *pend = strchr(p, '}');
			const char *send = strchr(s, '/');
			size_t seglen = send ? (size_t)(send - s) : strlen(s);
			if (!pend || seglen == 0 || seglen > 256 || np >= HTTP_MAX_PARAMS)
				goto fail;
			char *val = xmalloc(seglen + 1);
			int n = mg_url_decode(s, (int)seglen, val, (int)seglen + 1, 0);
			if (n < 0 || strchr(val, '/') || (size_t)n != strlen(val)) {
				free(val);
				goto fail;
			}
			r->params[np++] = val;
			p = pend + 1;
			s += seglen;
			continue;
		}
		if (*p != *s)
			goto fail;
		p++;
		s++;
	}
	if (*p == '\0' && *s == '\0')
		return 1;
fail:
	for (int i = 0; i < np; i++) {
		free(r->params[i]);
		r->params[i] = NULL;
	}
	return 0;
}

/* Whether the peer is the proxy (nginx) whose forwarded headers we take: MITAN_TRUST_PROXY=1
 * and the peer's address is one of MITAN_TRUSTED_PROXY (default 127.0.0.1). Anyone else who
 * can reach the loopback port (a local user, another service) speaks for itself only. */
static int http_peer_trusted(const char *peer)
{
	const char *p = cfg.trusted_proxy;
	size_t plen = strlen(peer);
	if (!cfg.trust_proxy || !p || !plen)
		return 0;
	while (*p) {
		p += strspn(p, ", ");
		size_t n = strcspn(p, ", ");
		if (n == plen && strncmp(p, peer, n) == 0)
			return 1;
		p += n;
	}
	return 0;
}

/* A request id from the proxy: 8 to 64 of [0-9A-Za-z_-] (nginx's $request_id is 32 hex
 * digits, a UUID is 36 characters). Anything else is replaced by one of ours. */
static int http_request_id_ok(const char *s)
{
	size_t n = s ? strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-") : 0;
	return n >= 8 && n <= HTTP_REQUEST_ID_MAX && s[n] == '\0';
}

static void http_client_addr(struct http_req *r, const struct mg_request_info *ri, int trusted)
{
	const char *xff = trusted ? mg_get_header(r->conn, "X-Forwarded-For") : NULL;
	if (xff && *xff) {
		/* nginx appends the peer it saw: the last entry is the one we can trust. */
		const char *last = strrchr(xff, ',');
		last = last ? last + 1 : xff;
		while (*last == ' ')
			last++;
		snprintf(r->client_addr, sizeof r->client_addr, "%.*s", (int)strcspn(last, " "), last);
	} else {
		snprintf(r->client_addr, sizeof r->client_addr, "%s", ri->remote_addr);
	}
}

static int http_read_body(struct http_req *r, const struct http_route *route, const struct mg_request_info *ri)
{
	buf_t body;
	char chunk[16384];
	int n;

	if (ri->content_length > 0 && (unsigned long long)ri->content_length > route->max_body) {
		http_error(r, 413, "body_too_large", "the request body is larger than %zu bytes", route->max_body);
		return -1;
	}
	buf_init(&body, route->max_body);
	for (n = mg_read(r->conn, chunk, sizeof chunk); n > 0; n = mg_read(r->conn, chunk, sizeof chunk)) {
		if (buf_append(&body, chunk, (size_t)n) != 0) {
			buf_free(&body);
			http_error(r, 413, "body_too_large", "the request body is larger than %zu bytes",
			           route->max_body);
			return -1;
		}
	}
	if (n < 0) {
		buf_free(&body);
		http_error(r, 400, "body_unreadable", "the request body could not be read");
		return -1;
	}
	r->body = body.data;
	r->body_len = body.len;
	return 0;
}

/* jansson parses recursively and accepts 2048 levels, but civetweb's worker threads have
 * 100 KB stacks, which a thousand levels exhaust: deeper bodies are refused before they
 * reach the parser. The API's own bodies are three levels deep. */
#define HTTP_JSON_MAX_DEPTH 32

static int http_json_too_deep(const char *s, size_t n)
{
	int depth = 0, in_string = 0;
	for (size_t i = 0; i < n; i++) {
		if (in_string) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_string = 0;
		} else if (s[i] == '"') {
			in_string = 1;
		} else if (s[i] == '[' || s[i] == '{') {
			if (++depth > HTTP_JSON_MAX_DEPTH)
				return 1;
		} else if ((s[i] == ']' || s[i] == '}') && depth > 0) {
			depth--;
		}
	}
	return 0;
}

static int http_parse_json(struct http_req *r)
{
	json_error_t jerr;
	const char *ctype = mg_get_header(r->conn, "Content-Type");
	if (!ctype || strncasecmp(ctype, "application/json", 16) != 0 ||
	    (ctype[16] != '\0' && ctype[16] != ';' && ctype[16] != ' ')) {
		http_error(r, 415, "unsupported_media_type", "send the body as application/json");
		return -1;
	}
	if (!r->body || r->body_len == 0) {
		http_error(r, 400, "invalid_json", "the request body is empty; a JSON object is expected");
		return -1;
	}
	if (http_json_too_deep(r->body, r->body_len)) {
		http_error(r, 400, "invalid_json", "the body is nested more than %d levels deep", HTTP_JSON_MAX_DEPTH);
		return -1;
	}
	r->json = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!r->json) {
		http_error(r, 400, "invalid_json", "the body is not valid JSON: %s (at byte %d)", jerr.text,
		           jerr.position);
		return -1;
	}
	if (!json_is_object(r->json)) {
		http_error(r, 400, "invalid_json", "the body must be a JSON object");
		return -1;
	}
	return 0;
}

static int http_authenticate(struct http_req *r, const struct http_route *route)
{
	const char *h = mg_get_header(r->conn, "Authorization");
	int found = 0;
	if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
		if (route->flags & HTTP_OPTIONAL_AUTH)
			return 0;
		http_error(r, 401, "unauthenticated", "sign in first: send Authorization: Bearer <token>");
		return -1;
	}
	const char *token = h + 7;
	if (strlen(token) != 43) {
		http_error(r, 401, "unauthenticated", "the token is not valid");
		return -1;
	}
	enum db_status st = auth_session_lookup(token, &r->auth, &found);
	if (st != DB_OK) {
		http_error_db(r, st);
		return -1;
	}
	if (!found) {
		http_error(r, 401, "unauthenticated", "the token is not valid or has expired; sign in again");
		return -1;
	}
	if (route->roles && !(route->roles & r->auth.role)) {
		http_error(r, 403, "forbidden", "this needs another role than %s", auth_role_name(r->auth.role));
		return -1;
	}
	return 0;
}

static int http_has_body(const char *method)
{
	return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
}

/* Development routes (the log driver's messages, the test clock) are not part of a production
 * server at all: there they are unknown paths, whatever their handlers would check. */
static int http_route_exists(const struct http_route *route)
{
	return !(route->flags & HTTP_DEV_ONLY) || config_is_dev();
}

/* Room for every method of one path, "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS". */
#define HTTP_ALLOW_MAX 64

/* The methods the table has for `path`, for the Allow header of a 405 ("GET, HEAD, POST"); HEAD
 * comes with GET because the dispatcher answers it. */
static void http_allowed(const char *path, char *out, size_t outlen)
{
	struct http_req probe;
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < http_nroutes; i++) {
		const struct http_route *route = &http_routes[i];
		memset(&probe, 0, sizeof probe);
		if (!http_route_exists(route) || !http_match(route->pattern, path, &probe))
			continue;
		for (int k = 0; k < HTTP_MAX_PARAMS; k++)
			free(probe.params[k]);
		const char *head = strcmp(route->method, "GET") == 0 ? ", HEAD" : "";
		int n = snprintf(out + len, outlen - len, "%s%s%s", len ? ", " : "", route->method, head);
		if (n < 0 || (size_t)n >= outlen - len)
			break;
		len += (size_t)n;
	}
}

static int http_handle(struct mg_connection *conn, void *cbdata)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct http_req r;
	const struct http_route *route = NULL;
	int method_mismatch = 0;
	unsigned char rid[8];
	char allow[HTTP_ALLOW_MAX];

	(void)cbdata;
	memset(&r, 0, sizeof r);
	r.conn = conn;
	r.method = ri->request_method;
	r.path = ri->local_uri;
	r.query = ri->query_string;
	r.started_us = clock_now_us();
	int trusted = http_peer_trusted(ri->remote_addr);
	const char *given = trusted ? mg_get_header(conn, "X-Request-Id") : NULL;
	if (http_request_id_ok(given)) {
		snprintf(r.request_id, sizeof r.request_id, "%s", given);
	} else {
		crypto_random(rid, sizeof rid);
		crypto_hex(rid, sizeof rid, r.request_id);
	}
	log_set_request_id(r.request_id);
	http_client_addr(&r, ri, trusted);

	for (size_t i = 0; i < http_nroutes; i++) {
		if (!http_route_exists(&http_routes[i]) || !http_match(http_routes[i].pattern, r.path, &r))
			continue;
		if (strcmp(http_routes[i].method, r.method) == 0 ||
		    (strcmp(http_routes[i].method, "GET") == 0 && strcmp(r.method, "HEAD") == 0)) {
			route = &http_routes[i];
			break;
		}
		method_mismatch = 1;
		for (int k = 0; k < HTTP_MAX_PARAMS; k++) {
			free(r.params[k]);
			r.params[k] = NULL;
		}
	}
	if (!route) {
		if (method_mismatch) {
			http_allowed(r.path, allow, sizeof allow);
			const char *headers[] = {"Allow", allow, NULL};
			http_error_headers(&r, 405, "method_not_allowed", headers,
			                   "%s is not allowed on %s (allowed: %s)", r.method, r.path, allow);
		} else {
			http_error(&r, 404, "not_found", "no such resource");
		}
		goto out;
	}
	if (http_has_body(r.method) && !(route->flags & HTTP_STREAM)) {
		if (route->max_body == 0) {
			if (ri->content_length > 0) {
				http_error(&r, 413, "body_too_large", "this request takes no body");
				goto out;
			}
		} else if (http_read_body(&r, route, ri) != 0) {
			goto out;
		}
	}
	if (((route->flags & HTTP_JSON) || ((route->flags & HTTP_JSON_OPTIONAL) && r.body_len > 0)) &&
	    http_parse_json(&r) != 0)
		goto out;
	if ((route->roles || (route->flags & HTTP_OPTIONAL_AUTH)) && http_authenticate(&r, route) != 0)
		goto out;
	route->handler(&r);
	if (!r.status)
		http_error(&r, 500, "internal_error", "the handler sent no reply");
out:
	db_release();
	metrics_request(r.status, clock_now_us() - r.started_us);
	log_debug("%s %s %d %lldus", r.method, r.path, r.status, (long long)(clock_now_us() - r.started_us));
	json_decref(r.json);
	free(r.body);
	for (int k = 0; k < HTTP_MAX_PARAMS; k++)
		free(r.params[k]);
	log_set_request_id(NULL);
	return r.status ? r.status : 500;
}

static int http_log_message(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	log_warn("civetweb: %s", message);
	return 1;
}

int http_start(const struct http_route *routes, size_t nroutes, const char *const *prefixes, char *err, size_t errlen)
{
	char ports[80], threads[16], keep_alive[16], request_timeout[16];
	struct mg_callbacks callbacks;

	http_routes = routes;
	http_nroutes = nroutes;
	snprintf(ports, sizeof ports, "%s:%ld", cfg.listen, cfg.port);
	snprintf(threads, sizeof threads, "%ld", cfg.threads);
	snprintf(keep_alive, sizeof keep_alive, "%ld", cfg.keep_alive_ms);
	snprintf(request_timeout, sizeof request_timeout, "%ld", cfg.request_timeout_ms);
	snprintf(http_keep_alive, sizeof http_keep_alive, "timeout=%ld", cfg.keep_alive_ms / 1000);
	/* civetweb gives each open connection a thread of its own until it closes: idle and slow
	 * clients are bounded by time, so that they cannot hold every thread (docs/SECURITY.md).
	 * An idle keep-alive connection lasts keep_alive_timeout_ms; a first request's headers must
	 * be in within request_timeout_ms, which is also the longest silence in a body. */
	const char *options[] = {
	    "listening_ports",
	    ports,
	    "num_threads",
	    threads,
	    "tcp_nodelay",
	    "1", /* without it each reply stalls ~40 ms */
	    "enable_keep_alive",
	    "yes",
	    "keep_alive_timeout_ms",
	    keep_alive,
	    "request_timeout_ms",
	    request_timeout,
	    "document_root",
	    cfg.web_root,
	    "enable_directory_listing",
	    "no",
	    "index_files",
	    "index.html",
	    "static_file_max_age",
	    "300",
	    "additional_header",
	    "X-Content-Type-Options: " HTTP_NOSNIFF "\r\nReferrer-Policy: " HTTP_REFERRER
	    "\r\nContent-Security-Policy: " HTTP_CSP "\r\nPermissions-Policy: " HTTP_PERMISSIONS,
	    "extra_mime_types",
	    HTTP_MIME_TYPES,
	    NULL,
	};
	memset(&callbacks, 0, sizeof callbacks);
	callbacks.log_message = http_log_message;
	mg_init_library(0);
	http_ctx = mg_start(&callbacks, NULL, options);
	if (!http_ctx) {
		snprintf(err, errlen,
		         "cannot listen on %s (is the port in use? set MITAN_PORT), or web root \"%s\" is missing",
		         ports, cfg.web_root);
		mg_exit_library();
		return -1;
	}
	for (size_t i = 0; prefixes[i]; i++)
		mg_set_request_handler(http_ctx, prefixes[i], http_handle, NULL);
	return 0;
}

void http_stop(void)
{
	if (http_ctx) {
		mg_stop(http_ctx);
		mg_exit_library();
		http_ctx = NULL;
	}
}
