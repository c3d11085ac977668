#include "idem.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"

int idem_begin(struct http_req *r, struct idem *k)
{
	static const char q_claim[] =
	    "INSERT INTO idempotency (principal, key, request_hash, created_at) VALUES ($1, $2, decode($3, 'hex'), $4) "
	    "ON CONFLICT (principal, key) DO NOTHING RETURNING 1";
	static const char q_prior[] =
	    "SELECT encode(request_hash, 'hex'), status, response FROM idempotency WHERE principal = $1 AND key = $2";
	unsigned char digest[CRYPTO_SHA256_LEN];
	char hash[2 * CRYPTO_SHA256_LEN + 1], now[CLOCK_TEXT_LEN];
	enum db_status st;
	PGresult *res = NULL;
	int rc = 1;
	const char *key = http_header(r, "Idempotency-Key");

	memset(k, 0, sizeof *k);
	if (!key)
		return 0;
	size_t n = strlen(key);
	if (n < 1 || n > 128 ||
	    strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:") != n) {
		http_error(r, 400, "invalid_idempotency_key",
		           "Idempotency-Key must be 1 to 128 letters, digits or -_.:");
		return 1;
	}
	k->active = 1;
	snprintf(k->principal, sizeof k->principal, "%s:%lld", auth_role_name(r->auth.role), r->auth.id);
	snprintf(k->key, sizeof k->key, "%s", key);
	crypto_sha256(r->body ? r->body : "", r->body_len, digest);
	crypto_hex(digest, sizeof digest, hash);
	clock_now_text(now, sizeof now);
	const char *p[] = {k->principal, k->key, hash, now};
	res = db_exec(q_claim, 4, p, &st);
	if (st != DB_OK)
		goto db_fail;
	if (PQntuples(res) == 1) {
		rc = 0;
		goto out;
	}
	PQclear(res);
	res = db_exec(q_prior, 2, p, &st);
	if (st != DB_OK)
		goto db_fail;
	if (PQntuples(res) != 1 || strcmp(db_get(res, 0, 0), hash) != 0) {
		http_error(r, 422, "idempotency_key_reused", "this Idempotency-Key was used with another request body");
	} else if (!db_get(res, 0, 1)) {
		http_error(r, 409, "request_in_progress",
		           "the first request with this Idempotency-Key is still running");
	} else {
		http_reply_json_text(r, (int)db_get_ll(res, 0, 1), db_get(res, 0, 2));
	}
	goto out;
db_fail:
	http_error_db(r, st);
out:
	PQclear(res);
	return rc;
}

enum db_status idem_finish(struct idem *k, int status, const char *body)
{
	static const char sql[] = "UPDATE idempotency SET status = $3, response = $4 WHERE principal = $1 AND key = $2";
	char code[8];
	if (!k->active)
		return DB_OK;
	snprintf(code, sizeof code, "%d", status);
	const char *p[] = {k->principal, k->key, code, body};
	return db_run(sql, 4, p);
}
