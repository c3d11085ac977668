/* http: civetweb glue. One route table; the dispatcher reads the body (bounded), parses
 * strict JSON, authenticates and only then calls the handler. Every reply goes out through
 * http_reply*, every error through http_error, which also logs and counts it. */
#ifndef MITAN_HTTP_H
#define MITAN_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "db.h"

#define HTTP_MAX_PARAMS     4
#define HTTP_REQUEST_ID_MAX 64

struct mg_connection;

struct http_req {
	struct mg_connection *conn;
	const char *method;
	const char *path;
	const char *query;             /* NULL when none */
	char *params[HTTP_MAX_PARAMS]; /* decoded {} segments of the pattern */
	char *body;                    /* NUL-terminated, NULL when none */
	size_t body_len;
	json_t *json; /* the parsed body of JSON routes */
	struct auth auth;
	char request_id[HTTP_REQUEST_ID_MAX + 1]; /* ours (16 hex digits) or the trusted proxy's */
	char client_addr[48];
	int status;      /* set by the reply */
	int retry_after; /* seconds, sent with 429 and 503 */
	int64_t started_us;
};

typedef void (*http_handler_fn)(struct http_req *r);

enum http_route_flags {
	HTTP_JSON = 1 << 0,          /* the body must be a JSON object */
	HTTP_OPTIONAL_AUTH = 1 << 1, /* authenticate when a token is given, anonymous otherwise */
	HTTP_JSON_OPTIONAL = 1 << 2, /* a JSON object body may be sent, or none */
	HTTP_STREAM = 1 << 3,        /* the dispatcher reads no body: the handler streams it with http_read */
	HTTP_DEV_ONLY = 1 << 4,      /* exists only when env is dev or test: elsewhere a 404 like any unknown path */
};

struct http_route {
	const char *method;
	const char *pattern; /* "/api/v1/bookings/{}": {} matches one segment */
	http_handler_fn handler;
	int roles;       /* enum auth_role bits allowed; 0 = anyone */
	size_t max_body; /* 0 = no body allowed */
	int flags;
};

/* Starts the server on cfg.listen:cfg.port with the given table (kept, not copied). The
 * URL prefixes in `prefixes` (NULL-terminated) go to the table; the rest is static files. */
int http_start(const struct http_route *routes, size_t nroutes, const char *const *prefixes, char *err, size_t errlen);
void http_stop(void);

/* Replies. Each sends exactly one response; the handler returns right after. */
void http_reply_json(struct http_req *r, int status, json_t *body); /* steals body */
void http_reply(struct http_req *r, int status, const char *content_type, const void *data, size_t len);
void http_reply_headers(struct http_req *r, int status, const char *content_type, const char *const *headers,
                        const void *data, size_t len);
void http_error(struct http_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* http_error with extra header pairs ({name, value, …, NULL}), e.g. what a 412 expects. */
void http_error_headers(struct http_req *r, int status, const char *code, const char *const *headers, const char *fmt,
                        ...) __attribute__((format(printf, 5, 6)));
/* 400 naming the field. */
void http_error_field(struct http_req *r, const char *field, const char *message);
/* The reply for a failed database call: 503, 409, 400 or 500. */
void http_error_db(struct http_req *r, enum db_status st);

/* Streaming. http_read reads at most n bytes of the body: > 0 bytes read, 0 at its end, < 0
 * on error or a lost connection. http_content_length is -1 when none was sent. */
int http_read(struct http_req *r, void *buf, size_t n);
long long http_content_length(struct http_req *r);
/* Sends the status line and headers of a reply of exactly `len` bytes that the handler then
 * writes with http_write (0 on success). */
void http_reply_start(struct http_req *r, int status, const char *content_type, const char *const *headers, size_t len);
int http_write(struct http_req *r, const void *data, size_t len);

/* Query parameter `name` into out; 1 if present, 0 if absent, -1 if too long. */
int http_query(struct http_req *r, const char *name, char *out, size_t outlen);
const char *http_header(struct http_req *r, const char *name);
/* The language asked for with ?lang= ("hi" or "en"; "en" when absent or unknown). */
const char *http_lang(struct http_req *r);
/* Replies 200 with a JSON document the database already rendered. */
void http_reply_json_text(struct http_req *r, int status, const char *text);
/* Runs a query whose one cell is the JSON reply, and replies 200 with it (or the error). */
void http_reply_query(struct http_req *r, const char *sql, int nparams, const char *const *params);

/* Strict JSON shape checks. The first problem is kept in the checker; later calls are
 * no-ops once it failed, so a handler can check a whole body and test once. */
struct jv {
	int failed;
	char field[64];
	char message[160];
};
/* Fails on a key not in `allowed` (NULL-terminated). */
void jv_only(struct jv *v, json_t *obj, const char *where, const char *const *allowed);
/* A string of minlen..maxlen characters without control, invisible or direction-changing
 * characters (text_check); NULL if absent. */
const char *jv_string(struct jv *v, json_t *obj, const char *where, const char *key, int required, size_t minlen,
                      size_t maxlen);
/* A number in [min, max]; 1 if present and valid. */
int jv_number(struct jv *v, json_t *obj, const char *where, const char *key, int required, double min, double max,
              double *out);
/* An object member; NULL if absent. */
json_t *jv_object(struct jv *v, json_t *obj, const char *where, const char *key, int required);
void jv_fail(struct jv *v, const char *where, const char *key, const char *message);
/* Sends the 400 for a failed checker. */
void jv_reply(struct http_req *r, const struct jv *v);

/* A body's shape as one table: each row a member, its kind, whether it is required, its
 * bounds (characters of a string, or the value of a number), an optional extra check with
 * the message said when it fails, and where the value goes. jv_check refuses members the
 * table does not name, then checks the rows in order; the first problem wins. */
enum jv_kind {
	JV_STRING = 1,
	JV_NUMBER,
	JV_OBJECT,
	JV_TEXT,   /* free text of 1..max characters: line breaks and tabs allowed, not only blanks */
	JV_CHOICE, /* a string from the row's list */
	JV_ARRAY,  /* a list of at most max strings, each accepted by ok() */
};
struct jv_field {
	const char *key;
	enum jv_kind kind;
	int required;
	double min, max;
	int (*ok)(const char *s);       /* JV_STRING, JV_ARRAY (each entry): 1 when good; NULL = any */
	const char *why;                /* the message when ok() refuses ("each …" for an entry) */
	const char **str;               /* JV_STRING: the value, NULL when absent */
	double *num;                    /* JV_NUMBER: the value, untouched when absent */
	int *present;                   /* set to 1 when the member was given; may be NULL */
	const struct jv_field *members; /* JV_OBJECT: its own table, NULL = not looked into */
	json_t **obj;                   /* JV_OBJECT, JV_ARRAY: the member, NULL when absent */
	const char *const *choices;     /* JV_CHOICE: the allowed values, NULL-terminated */
};
#define JV_STR(k, req, lo, hi, out)                                                                                    \
	{                                                                                                              \
		.key = (k), .kind = JV_STRING, .required = (req), .min = (lo), .max = (hi), .str = (out)               \
	}
#define JV_STR_OK(k, req, lo, hi, check, message, out)                                                                 \
	{                                                                                                              \
		.key = (k), .kind = JV_STRING, .required = (req), .min = (lo), .max = (hi), .ok = (check),             \
		.why = (message), .str = (out)                                                                         \
	}
#define JV_NUM(k, req, lo, hi, out, has)                                                                               \
	{                                                                                                              \
		.key = (k), .kind = JV_NUMBER, .required = (req), .min = (lo), .max = (hi), .num = (out),              \
		.present = (has)                                                                                       \
	}
#define JV_OBJ(k, req, table, out)                                                                                     \
	{                                                                                                              \
		.key = (k), .kind = JV_OBJECT, .required = (req), .members = (table), .obj = (out)                     \
	}
#define JV_TXT(k, req, hi, out)                                                                                        \
	{                                                                                                              \
		.key = (k), .kind = JV_TEXT, .required = (req), .min = 1, .max = (hi), .str = (out)                    \
	}
#define JV_ONE_OF(k, req, list, out)                                                                                   \
	{                                                                                                              \
		.key = (k), .kind = JV_CHOICE, .required = (req), .choices = (list), .str = (out)                      \
	}
#define JV_ARR_OK(k, req, hi, check, message, out)                                                                     \
	{                                                                                                              \
		.key = (k), .kind = JV_ARRAY, .required = (req), .max = (hi), .ok = (check), .why = (message),         \
		.obj = (out)                                                                                           \
	}
#define JV_END                                                                                                         \
	{                                                                                                              \
		.key = NULL                                                                                            \
	}
/* Checks `obj` (the member `where`, "" for the body) against the table; 0 when it holds. */
int jv_check(struct jv *v, json_t *obj, const char *where, const struct jv_field *fields);
/* jv_check on the request's body; replies 400 naming the field and returns -1 when it fails. */
int jv_check_or_reply(struct http_req *r, const struct jv_field *fields);

#endif
