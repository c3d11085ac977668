/* config: one typed table of settings, read from an optional file of `name = value` lines
 * and then from MITAN_<NAME> environment variables, validated at start-up. */
#ifndef MITAN_CONFIG_H
#define MITAN_CONFIG_H

#include <stddef.h>
#include <stdio.h>

struct config {
	char *env;          /* prod, dev or test */
	char *data;         /* data directory */
	char *database_url; /* libpq conninfo; empty = the embedded cluster under data */
	char *listen;       /* address the HTTP server binds */
	long port;
	long threads;
	long keep_alive_ms;      /* an idle keep-alive connection is closed after this */
	long request_timeout_ms; /* headers must arrive, and a body may stall, at most this long */
	char *log_level;
	char *public_url;    /* base of tracking links */
	char *web_root;      /* static front ends */
	char *sms_driver;    /* log or http */
	char *now;           /* injectable clock start, RFC 3339; only for env dev/test */
	long trust_proxy;    /* take the client address from X-Forwarded-For (behind nginx) */
	char *trusted_proxy; /* the peers (nginx) whose forwarded headers are taken, comma-separated */
	long session_hours_staff;
	long session_days_resident;
	long otp_ttl_seconds;
	long otp_max_attempts;
	long otp_per_phone_per_hour;
	long otp_per_addr_per_hour;
	long booking_lead_minutes;
	long booking_days_ahead;
	long max_body;
	long slots_cache_ms; /* how long a zone's availability may be served from memory */
	long db_statement_timeout_ms;
	long db_connections; /* the pool shared by all threads */
	long db_wait_ms;     /* longest wait for a free connection of the pool */
	/* scheduler and SMS */
	long worker_in_process; /* `mitan serve` also runs the job worker */
	long worker_poll_ms;
	char *sms_url;
	char *sms_api_key;
	char *sms_api_key_header;
	char *sms_sender;
	char *sms_dlt_entity_id;
	char *sms_dlt_templates; /* "template=dlt_id,template=dlt_id" */
	long sms_timeout_ms;
	char *sms_dlr_secret; /* HMAC key of delivery reports */
	long sms_per_phone_per_hour;
	long visit_notice_hour; /* local hour of the visit-day SMS */
	/* field agents and documents */
	char *upload_dir; /* empty = data/uploads */
	long upload_max_bytes;
	long upload_open_max;       /* open uploads per agent */
	long upload_open_bytes_max; /* declared bytes across an agent's open uploads */
	char *upload_key;           /* 64 hex chars (AES-256); empty = derived from the installation secret */
	long signed_link_seconds;
	long visit_code_max_attempts;
	/* planning */
	double travel_road_factor; /* geodesic distance x this = road distance */
	double travel_speed_kmh;
	long plan_time_limit_s;
};

extern struct config cfg;

/* Loads defaults, then `file` (may be NULL), then the environment. On error writes a
 * message naming the setting into err and returns -1. */
int config_load(const char *file, char *err, size_t errlen);
void config_free(void);
/* Prints every setting with its default and description. */
void config_usage(void);
int config_is_dev(void); /* env is dev or test */
/* Writes every setting, its value (secrets masked) and where it came from, one a line. */
void config_print(FILE *f);
/* Writes one line, after `prefix`, for each setting unsafe in production (whatever the
 * env), naming the setting and what to do; returns how many. */
int config_unsafe(FILE *f, const char *prefix);
/* Where the installation secret lives: <data>/secret.key. */
void config_secret_path(char *out, size_t outlen);

#endif
