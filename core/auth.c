#include "auth.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"

static const char *const auth_names[] = {"resident", "operator", "agent", "officer", "committee", "admin"};

const char *auth_role_name(int role)
{
	for (int i = 0; i < 6; i++)
		if (role == 1 << i)
			return auth_names[i];
	return "anonymous";
}

int auth_role_parse(const char *name)
{
	for (int i = 0; i < 6; i++)
		if (name && strcmp(name, auth_names[i]) == 0)
			return 1 << i;
	return 0;
}

enum db_status auth_session_create(const struct auth *who, long ttl_seconds, char token[CRYPTO_TOKEN_LEN],
                                   char expires_at[CLOCK_TEXT_LEN])
{
	static const char sql[] =
	    "INSERT INTO session (token_hash, role, person_id, staff_id, agent_id, district_id, created_at, "
	    "expires_at) "
	    "VALUES (decode($1, 'hex'), $2, CASE WHEN $2 = 'resident' THEN $3::bigint END, "
	    "        CASE WHEN $2 IN ('operator','officer','committee','admin') THEN $3::int END, "
	    "        CASE WHEN $2 = 'agent' THEN $3::int END, nullif($4::int, 0), $5, $6)";
	unsigned char hash[CRYPTO_SHA256_LEN];
	char hashhex[2 * CRYPTO_SHA256_LEN + 1], id[24], district[24], now[CLOCK_TEXT_LEN];
	int64_t now_us = clock_now_us();

	if (crypto_token(token, hash) != 0)
		return DB_FAILED;
	crypto_hex(hash, sizeof hash, hashhex);
	snprintf(id, sizeof id, "%lld", who->id);
	snprintf(district, sizeof district, "%lld", who->district_id);
	clock_format(now_us, now, sizeof now);
	clock_format(now_us + (int64_t)ttl_seconds * CLOCK_US_PER_S, expires_at, CLOCK_TEXT_LEN);
	const char *params[] = {hashhex, auth_role_name(who->role), id, district, now, expires_at};
	return db_run(sql, 6, params);
}

enum db_status auth_session_lookup(const char *token, struct auth *who, int *found)
{
	/* The account must still be active: a session outlives no deactivation (sql/009_sessions.sql
	 * ends them as well, this holds for any left behind). */
	static const char sql[] =
	    "SELECT s.role, coalesce(s.person_id, s.staff_id, s.agent_id), coalesce(s.district_id, 0) "
	    "FROM session s LEFT JOIN staff f ON f.id = s.staff_id "
	    "LEFT JOIN agent a ON a.id = s.agent_id "
	    "WHERE s.token_hash = decode($1, 'hex') AND s.expires_at > $2 "
	    "  AND (s.staff_id IS NULL OR f.active) AND (s.agent_id IS NULL OR a.active)";
	unsigned char hash[CRYPTO_SHA256_LEN];
	char hashhex[2 * CRYPTO_SHA256_LEN + 1], now[CLOCK_TEXT_LEN];
	enum db_status st;

	*found = 0;
	crypto_sha256(token, strlen(token), hash);
	crypto_hex(hash, sizeof hash, hashhex);
	clock_now_text(now, sizeof now);
	const char *params[] = {hashhex, now};
	PGresult *res = db_exec(sql, 2, params, &st);
	if (st == DB_OK && PQntuples(res) == 1) {
		who->role = auth_role_parse(db_get(res, 0, 0));
		who->id = db_get_ll(res, 0, 1);
		who->district_id = db_get_ll(res, 0, 2);
		*found = who->role != 0;
	}
	PQclear(res);
	return st;
}

enum db_status auth_session_end(const char *token)
{
	static const char sql[] = "DELETE FROM session WHERE token_hash = decode($1, 'hex')";
	unsigned char hash[CRYPTO_SHA256_LEN];
	char hashhex[2 * CRYPTO_SHA256_LEN + 1];
	crypto_sha256(token, strlen(token), hash);
	crypto_hex(hash, sizeof hash, hashhex);
	const char *params[] = {hashhex};
	return db_run(sql, 1, params);
}
