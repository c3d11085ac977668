#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto.h"
#include "util.h"

struct config cfg;

enum config_type { CONFIG_STR, CONFIG_INT, CONFIG_DOUBLE };

enum config_secret {
	CONFIG_PLAIN,
	CONFIG_KEY,    /* a key: shown as **** and its last characters, enough to tell two apart */
	CONFIG_OPAQUE, /* may hold a password anywhere (a conninfo): shown only as (set) */
};

struct config_entry {
	const char *name;
	enum config_type type;
	size_t offset;
	const char *def;
	long min, max;       /* CONFIG_INT */
	double dmin, dmax;   /* CONFIG_DOUBLE */
	const char *choices; /* "a|b|c" for strings, or NULL */
	const char *help;
	enum config_secret secret; /* how check-config shows the value */
};

#define STR(field, def, choices, help)                                                                                 \
	{                                                                                                              \
#field, CONFIG_STR, offsetof(struct config, field), def, 0, 0, 0, 0, choices, help, CONFIG_PLAIN       \
	}
#define SECRET(field, kind, help)                                                                                      \
	{                                                                                                              \
#field, CONFIG_STR, offsetof(struct config, field), "", 0, 0, 0, 0, NULL, help, kind                   \
	}
#define INT(field, def, min, max, help)                                                                                \
	{                                                                                                              \
#field, CONFIG_INT, offsetof(struct config, field), #def, min, max, 0, 0, NULL, help, CONFIG_PLAIN     \
	}
#define DBL(field, def, min, max, help)                                                                                \
	{                                                                                                              \
#field, CONFIG_DOUBLE, offsetof(struct config, field), #def, 0, 0, min, max, NULL, help, CONFIG_PLAIN  \
	}

static const struct config_entry config_table[] = {
    STR(env, "prod", "prod|dev|test", "deployment kind; dev and test allow MITAN_NOW"),
    STR(data, "./var", NULL, "data directory (embedded database, uploads, demo accounts)"),
    SECRET(database_url, CONFIG_OPAQUE, "libpq connection string; empty = the embedded cluster under data"),
    STR(listen, "127.0.0.1", NULL, "address the HTTP server binds (IPv4)"),
    INT(port, 8080, 1, 65535, "HTTP port"),
    INT(threads, 256, 2, 1024, "HTTP worker threads: one per open client connection, idle or not"),
    INT(keep_alive_ms, 2000, 100, 60000, "an idle keep-alive connection is closed after this"),
    INT(request_timeout_ms, 10000, 1000, 120000,
        "a request's headers must arrive within this, and its body may stall at most this long"),
    STR(log_level, "info", "debug|info|warn|error", "lowest level logged"),
    STR(public_url, "", NULL, "public base URL for tracking links; empty = http://listen:port"),
    STR(web_root, "web", NULL, "directory of the static front ends"),
    STR(sms_driver, "log", "log|http", "log keeps messages for /api/v1/dev/sms; http posts to a gateway"),
    STR(now, "", NULL, "injectable clock start (RFC 3339), honoured only when env is dev or test"),
    INT(trust_proxy, 0, 0, 1, "take the client address from X-Forwarded-For (behind nginx)"),
    STR(trusted_proxy, "127.0.0.1", NULL,
        "peer addresses (comma-separated) whose X-Forwarded-For and X-Request-Id are taken"),
    INT(session_hours_staff, 12, 1, 720, "lifetime of staff and agent sessions"),
    INT(session_days_resident, 30, 1, 365, "lifetime of resident sessions"),
    INT(otp_ttl_seconds, 600, 60, 600, "OTP lifetime (at most 10 minutes)"),
    INT(otp_max_attempts, 5, 1, 5, "wrong codes allowed per OTP"),
    INT(otp_per_phone_per_hour, 5, 1, 100, "OTP sends per phone per hour"),
    INT(otp_per_addr_per_hour, 30, 1, 100000, "OTP sends per client address per hour"),
    INT(booking_lead_minutes, 60, 0, 10080, "a window can be booked until this long before it starts"),
    INT(booking_days_ahead, 14, 1, 90, "how far ahead windows are offered"),
    INT(max_body, 65536, 1024, 1048576, "default limit of a request body in bytes"),
    INT(slots_cache_ms, 1000, 0, 60000, "a zone's availability is served from memory this long (0 = never)"),
    INT(db_statement_timeout_ms, 10000, 100, 600000, "statement timeout of server connections"),
    INT(db_connections, 12, 1, 500, "database connections shared by all threads (a few per core)"),
    INT(db_wait_ms, 2000, 10, 60000, "longest wait for a free database connection; then 503 with Retry-After"),
    INT(worker_in_process, 1, 0, 1, "mitan serve also runs the job worker"),
    INT(worker_poll_ms, 1000, 10, 60000, "how often an idle worker looks for due jobs"),
    STR(sms_url, "", NULL, "SMS gateway URL (driver http)"),
    SECRET(sms_api_key, CONFIG_KEY, "SMS gateway API key (driver http)"),
    STR(sms_api_key_header, "X-API-Key", NULL, "header that carries the API key"),
    STR(sms_sender, "MITAN", NULL, "DLT sender id (header)"),
    STR(sms_dlt_entity_id, "", NULL, "DLT principal entity id"),
    STR(sms_dlt_templates, "", NULL, "DLT template ids: template=id,template=id"),
    INT(sms_timeout_ms, 5000, 100, 60000, "total timeout of one gateway call"),
    SECRET(sms_dlr_secret, CONFIG_KEY, "HMAC key of the gateway's delivery reports"),
    INT(sms_per_phone_per_hour, 20, 1, 1000, "messages per phone per hour"),
    INT(visit_notice_hour, 7, 0, 23, "local hour of the visit-day SMS (agent name and visit code)"),
    STR(upload_dir, "", NULL, "where encrypted documents are kept; empty = <data>/uploads"),
    INT(upload_max_bytes, 20971520, 1024, 1073741824, "largest document upload"),
    INT(upload_open_max, 20, 1, 10000,
        "open (unfinished, unexpired) uploads per agent: a day's visits with a few documents each, some "
        "resumed later; more is a stuck or misused handset, refused with 429"),
    INT(upload_open_bytes_max, 209715200, 1024, 1099511627776,
        "bytes declared across an agent's open uploads: ten files of the largest size, several days of "
        "phone photos and scans; bounds the disk one handset can hold for 48 h"),
    SECRET(upload_key, CONFIG_KEY, "AES-256 key of documents at rest, 64 hex chars; empty = derived from the secret"),
    INT(signed_link_seconds, 300, 10, 86400, "lifetime of an officer's signed document link"),
    INT(visit_code_max_attempts, 5, 1, 20, "wrong visit codes allowed at one door"),
    DBL(travel_road_factor, 1.4, 1.0, 5.0, "road distance = geodesic distance x this"),
    DBL(travel_speed_kmh, 18, 1.0, 120.0, "average travel speed of agents in the city, km/h"),
    INT(plan_time_limit_s, 10, 1, 600, "time limit of one zone's route planning"),
};

#define CONFIG_COUNT (sizeof config_table / sizeof config_table[0])

/* Where each setting's value came from: "default", "FILE:LINE" or "MITAN_<NAME>". */
static char *config_origin[CONFIG_COUNT];

static void config_set_origin(const struct config_entry *e, const char *origin)
{
	size_t i = (size_t)(e - config_table);
	free(config_origin[i]);
	config_origin[i] = xstrdup(origin);
}

static int config_choice_ok(const char *choices, const char *v)
{
	size_t n = strlen(v);
	const char *p = choices;
	while (p && *p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, v, n) == 0)
			return 1;
		p = bar ? bar + 1 : NULL;
	}
	return 0;
}

static int config_set(const struct config_entry *e, const char *value, const char *origin, char *err, size_t errlen)
{
	char *base = (char *)&cfg + e->offset;
	if (e->type == CONFIG_INT) {
		long v;
		if (parse_long(value, e->min, e->max, &v) != 0) {
			snprintf(err, errlen, "%s: %s must be a whole number from %ld to %ld, got \"%s\"", origin,
			         e->name, e->min, e->max, value);
			return -1;
		}
		*(long *)(void *)base = v;
		config_set_origin(e, origin);
		return 0;
	}
	if (e->type == CONFIG_DOUBLE) {
		double v;
		if (parse_double(value, &v) != 0 || v < e->dmin || v > e->dmax) {
			snprintf(err, errlen, "%s: %s must be a number from %g to %g, got \"%s\"", origin, e->name,
			         e->dmin, e->dmax, value);
			return -1;
		}
		*(double *)(void *)base = v;
		config_set_origin(e, origin);
		return 0;
	}
	if (e->choices && !config_choice_ok(e->choices, value)) {
		snprintf(err, errlen, "%s: %s must be one of %s, got \"%s\"", origin, e->name, e->choices, value);
		return -1;
	}
	char **slot = (char **)(void *)base;
	free(*slot);
	*slot = xstrdup(value);
	config_set_origin(e, origin);
	return 0;
}

static const struct config_entry *config_find(const char *name)
{
	for (size_t i = 0; i < CONFIG_COUNT; i++)
		if (strcmp(config_table[i].name, name) == 0)
			return &config_table[i];
	return NULL;
}

static char *config_trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int config_read_file(const char *file, char *err, size_t errlen)
{
	char line[1024];
	char origin[300];
	int lineno = 0, rc = -1;
	FILE *f = fopen(file, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open config file %s", file);
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *s = config_trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		snprintf(origin, sizeof origin, "%s:%d", file, lineno);
		if (!eq) {
			snprintf(err, errlen, "%s: expected name = value", origin);
			goto out;
		}
		*eq = '\0';
		const struct config_entry *e = config_find(config_trim(s));
		if (!e) {
			snprintf(err, errlen, "%s: unknown setting \"%s\"", origin, config_trim(s));
			goto out;
		}
		if (config_set(e, config_trim(eq + 1), origin, err, errlen) != 0)
			goto out;
	}
	rc = 0;
out:
	fclose(f);
	return rc;
}

/* MITAN_<NAME>: the variable that sets an entry. */
static void config_env_name(const struct config_entry *e, char *out, size_t outlen)
{
	size_t j = (size_t)snprintf(out, outlen, "MITAN_");
	for (const char *p = e->name; *p && j + 1 < outlen; p++)
		out[j++] = (char)toupper((unsigned char)*p);
	out[j] = '\0';
}

int config_load(const char *file, char *err, size_t errlen)
{
	char envname[64];
	for (size_t i = 0; i < CONFIG_COUNT; i++)
		if (config_set(&config_table[i], config_table[i].def, "default", err, errlen) != 0)
			return -1;
	if (file && config_read_file(file, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < CONFIG_COUNT; i++) {
		const struct config_entry *e = &config_table[i];
		config_env_name(e, envname, sizeof envname);
		const char *v = getenv(envname);
		if (v && config_set(e, v, envname, err, errlen) != 0)
			return -1;
	}
	/* MITAN_NOW outside dev and test is refused by the caller (config_unsafe), so that
	 * check-config can still show it. */
	if (!cfg.public_url[0]) {
		char url[128];
		snprintf(url, sizeof url, "http://%s:%ld", cfg.listen, cfg.port);
		free(cfg.public_url);
		cfg.public_url = xstrdup(url);
		config_set_origin(config_find("public_url"), "derived from listen and port");
	}
	return 0;
}

void config_free(void)
{
	for (size_t i = 0; i < CONFIG_COUNT; i++) {
		if (config_table[i].type == CONFIG_STR) {
			char **slot = (char **)(void *)((char *)&cfg + config_table[i].offset);
			free(*slot);
			*slot = NULL;
		}
		free(config_origin[i]);
		config_origin[i] = NULL;
	}
}

void config_usage(void)
{
	fprintf(stderr, "Settings (environment MITAN_<NAME>, or name = value in --config FILE):\n");
	for (size_t i = 0; i < CONFIG_COUNT; i++) {
		const struct config_entry *e = &config_table[i];
		fprintf(stderr, "  %-26s %s (default \"%s\")\n", e->name, e->help, e->def);
	}
}

int config_is_dev(void)
{
	return strcmp(cfg.env, "dev") == 0 || strcmp(cfg.env, "test") == 0;
}

void config_secret_path(char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/secret.key", cfg.data);
}

/* A key shorter than this shows only (set): its last characters would be too much of it. */
#define CONFIG_SHOW_TAIL_MIN 16
#define CONFIG_SHOW_TAIL     2

/* The value as check-config shows it: secrets masked. */
static void config_shown(const struct config_entry *e, char *out, size_t outlen)
{
	const char *base = (const char *)&cfg + e->offset;
	if (e->type == CONFIG_INT) {
		snprintf(out, outlen, "%ld", *(const long *)(const void *)base);
		return;
	}
	if (e->type == CONFIG_DOUBLE) {
		snprintf(out, outlen, "%g", *(const double *)(const void *)base);
		return;
	}
	const char *v = *(char *const *)(const void *)base;
	size_t n = v ? strlen(v) : 0;
	if (n == 0 || e->secret == CONFIG_PLAIN)
		snprintf(out, outlen, "\"%s\"", v ? v : "");
	else if (e->secret == CONFIG_KEY && n >= CONFIG_SHOW_TAIL_MIN)
		snprintf(out, outlen, "****%s", v + n - CONFIG_SHOW_TAIL);
	else
		snprintf(out, outlen, "(set)");
}

void config_print(FILE *f)
{
	char shown[96];
	fprintf(f, "%-26s %-44s %s\n", "setting", "value", "from");
	for (size_t i = 0; i < CONFIG_COUNT; i++) {
		config_shown(&config_table[i], shown, sizeof shown);
		fprintf(f, "%-26s %-44s %s\n", config_table[i].name, shown,
		        config_origin[i] ? config_origin[i] : "default");
	}
}

static int config_is_default(const char *name)
{
	const struct config_entry *e = config_find(name);
	size_t i = (size_t)(e - config_table);
	return !config_origin[i] || strcmp(config_origin[i], "default") == 0 ||
	       strncmp(config_origin[i], "derived", 7) == 0;
}

static int config_starts(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static int config_hex_key(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]))
			return 0;
	return n == 2 * CRYPTO_GCM_KEY_LEN;
}

/* The HMAC key of delivery reports: a short one can be guessed from one signed report. */
#define CONFIG_DLR_SECRET_MIN 32

/* The installation secret: there, of the right size, readable by its owner only. A missing
 * one would be made afresh by serve, and a new one voids every visit code and signed link. */
static int config_secret_unsafe(FILE *f, const char *prefix)
{
	char path[4096];
	struct stat st;
	config_secret_path(path, sizeof path);
	if (stat(path, &st) != 0) {
		fprintf(f,
		        "%sthe installation secret %s is missing: make it once with `mitan seed` (MITAN_DATA=%s), "
		        "and keep it with the backups\n",
		        prefix, path, cfg.data);
		return 1;
	}
	if (st.st_size != CRYPTO_SECRET_LEN) {
		fprintf(f, "%sthe installation secret %s must hold %d bytes\n", prefix, path, CRYPTO_SECRET_LEN);
		return 1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		fprintf(f, "%sthe installation secret %s is open to other users: chmod 600 it\n", prefix, path);
		return 1;
	}
	return 0;
}

int config_unsafe(FILE *f, const char *prefix)
{
	int n = 0;
	int http = strcmp(cfg.sms_driver, "http") == 0;
	if (!http) {
		fprintf(f,
		        "%sMITAN_SMS_DRIVER is %s: nothing is sent, and every OTP would wait in the outbox; "
		        "set http and the gateway's MITAN_SMS_*\n",
		        prefix, cfg.sms_driver);
		n++;
	}
	if (http && !config_starts(cfg.sms_url, "https://")) {
		fprintf(f, "%sMITAN_SMS_URL must be the gateway's https:// URL (the API key goes with every message)\n",
		        prefix);
		n++;
	}
	if (http && !cfg.sms_api_key[0]) {
		fprintf(f, "%sMITAN_SMS_API_KEY is not set\n", prefix);
		n++;
	}
	if (http && strlen(cfg.sms_dlr_secret) < CONFIG_DLR_SECRET_MIN) {
		fprintf(f,
		        "%sMITAN_SMS_DLR_SECRET is %s: delivery reports need an HMAC key of at least %d characters\n",
		        prefix, cfg.sms_dlr_secret[0] ? "too short" : "not set", CONFIG_DLR_SECRET_MIN);
		n++;
	}
	if (config_is_default("public_url")) {
		fprintf(f, "%sMITAN_PUBLIC_URL is not set: tracking links in messages would point at %s\n", prefix,
		        cfg.public_url);
		n++;
	} else if (!config_starts(cfg.public_url, "https://")) {
		fprintf(f, "%sMITAN_PUBLIC_URL must start with https:// (nginx terminates TLS), got \"%s\"\n", prefix,
		        cfg.public_url);
		n++;
	}
	if (cfg.now[0]) {
		fprintf(f, "%sMITAN_NOW is set: a fixed clock is honoured only when MITAN_ENV is dev or test\n",
		        prefix);
		n++;
	}
	if (!config_starts(cfg.listen, "127.")) {
		fprintf(f, "%sMITAN_LISTEN is %s: the server speaks plain HTTP; keep it on loopback behind nginx\n",
		        prefix, cfg.listen);
		n++;
	}
	if (!cfg.trust_proxy) {
		fprintf(f,
		        "%sMITAN_TRUST_PROXY is 0: behind nginx every client would share one address, and the "
		        "OTP limit per address would lock them all out; set 1\n",
		        prefix);
		n++;
	} else if (!cfg.trusted_proxy[0]) {
		fprintf(f,
		        "%sMITAN_TRUSTED_PROXY is empty: no peer's X-Forwarded-For is taken, so every client "
		        "would share nginx's address; set nginx's (127.0.0.1)\n",
		        prefix);
		n++;
	}
	if (strcmp(cfg.log_level, "debug") == 0) {
		fprintf(f,
		        "%sMITAN_LOG_LEVEL is debug: every request path, tracking tokens among them, would be logged\n",
		        prefix);
		n++;
	}
	if (cfg.upload_key[0] && !config_hex_key(cfg.upload_key)) {
		fprintf(f, "%sMITAN_UPLOAD_KEY must be %d hexadecimal characters (uploads would be refused)\n", prefix,
		        2 * CRYPTO_GCM_KEY_LEN);
		n++;
	}
	n += config_secret_unsafe(f, prefix);
	return n;
}
