/* auth: roles, bearer-token sessions (tokens are 256-bit random, stored as SHA-256). */
#ifndef MITAN_AUTH_H
#define MITAN_AUTH_H

#include "clock.h"
#include "crypto.h"
#include "db.h"

enum auth_role {
	ROLE_RESIDENT = 1 << 0,
	ROLE_OPERATOR = 1 << 1,
	ROLE_AGENT = 1 << 2,
	ROLE_OFFICER = 1 << 3,
	ROLE_COMMITTEE = 1 << 4,
	ROLE_ADMIN = 1 << 5,
};
#define ROLE_STAFF            (ROLE_OPERATOR | ROLE_OFFICER | ROLE_COMMITTEE | ROLE_ADMIN)
#define ROLE_ANYONE_SIGNED_IN (ROLE_RESIDENT | ROLE_AGENT | ROLE_STAFF)

/* Who is calling. id is the person (resident), staff or agent id, by role. */
struct auth {
	int role; /* one enum auth_role bit; 0 = anonymous */
	long long id;
	long long district_id; /* 0 when none */
};

const char *auth_role_name(int role);
int auth_role_parse(const char *name); /* 0 when unknown */

/* Creates a session; writes the token and its expiry (RFC 3339). */
enum db_status auth_session_create(const struct auth *who, long ttl_seconds, char token[CRYPTO_TOKEN_LEN],
                                   char expires_at[CLOCK_TEXT_LEN]);
/* Finds the live session of a token whose account is still active: DB_OK and *found = 1 with
 * *who filled, or *found = 0. */
enum db_status auth_session_lookup(const char *token, struct auth *who, int *found);
/* Ends the session of a token (signing out); a token that is not live changes nothing. */
enum db_status auth_session_end(const char *token);

#endif
