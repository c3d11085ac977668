/* config: one typed table of settings, read from an optional file of `name = value` lines
 * and then from MITAN_<NAME> environment variables, validated at start-up. */
#ifndef MITAN_CONFIG_H
#define MITAN_CONFIG_H

#include <stddef.h>

struct config {
	char *env;              /* prod, dev or test */
	char *data;             /* data directory */
	char *database_url;     /* libpq conninfo; empty = the embedded cluster under data */
	char *listen;           /* address the HTTP server binds */
	long port;
	long threads;
	char *log_level;
	char *public_url;       /* base of tracking links */
	char *web_root;         /* static front ends */
	char *sms_driver;       /* log or http */
	char *now;              /* injectable clock start, RFC 3339; only for env dev/test */
	long trust_proxy;       /* take the client address from X-Forwarded-For (behind nginx) */
	long session_hours_staff;
	long session_days_resident;
	long otp_ttl_seconds;
	long otp_max_attempts;
	long otp_per_phone_per_hour;
	long otp_per_addr_per_hour;
	long booking_lead_minutes;
	long booking_days_ahead;
	long max_body;
	long db_statement_timeout_ms;
};

extern struct config cfg;

/* Loads defaults, then `file` (may be NULL), then the environment. On error writes a
 * message naming the setting into err and returns -1. */
int config_load(const char *file, char *err, size_t errlen);
void config_free(void);
/* Prints every setting with its default and description. */
void config_usage(void);
int config_is_dev(void); /* env is dev or test */

#endif
