#include "account/account.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "log.h"

#define ACCOUNT_OTP_DIGITS           6
#define ACCOUNT_REQUEST_ID_BYTES     16 /* shown as 32 hex digits */
#define ACCOUNT_OTP_LOCKED_RETRY_S   60
#define ACCOUNT_ADDR_LIMITED_RETRY_S 600

int account_phone_valid(const char *phone)
{
	size_t n = strlen(phone);
	if (n < 9 || n > 16 || phone[0] != '+' || phone[1] < '1' || phone[1] > '9')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (phone[i] < '0' || phone[i] > '9')
			return 0;
	return 1;
}

static int account_language_ok(const char *s)
{
	return strcmp(s, "en") == 0 || strcmp(s, "hi") == 0;
}

static int account_request_id_ok(const char *s)
{
	return strspn(s, "0123456789abcdef") == 2 * ACCOUNT_REQUEST_ID_BYTES;
}

static int account_code_ok(const char *s)
{
	return strspn(s, "0123456789") == ACCOUNT_OTP_DIGITS;
}

static void account_otp_hash(const char *request_id, const char *code, char out[2 * CRYPTO_SHA256_LEN + 1])
{
	char msg[96];
	unsigned char mac[CRYPTO_SHA256_LEN];
	int n = snprintf(msg, sizeof msg, "%s:%s", request_id, code);
	crypto_secret_hmac("otp", msg, (size_t)n, mac);
	crypto_hex(mac, sizeof mac, out);
}

void account_otp_request(struct http_req *r)
{
	/* The per-phone lock serialises concurrent sends to one phone so the limit holds. */
	static const char q_limits[] =
	    "SELECT pg_advisory_xact_lock(hashtext('otp:' || $1)), "
	    "  (SELECT count(*) FROM otp_request WHERE phone = $1 AND created_at > $2::timestamptz - interval '1 "
	    "hour') "
	    "    AS per_phone, "
	    "  (SELECT count(*) FROM otp_request WHERE client_addr = $3 AND created_at > $2::timestamptz - interval '1 "
	    "hour') "
	    "    AS per_addr, "
	    "  (SELECT ceil(extract(epoch FROM min(created_at) + interval '1 hour' - $2::timestamptz)) FROM "
	    "otp_request "
	    "    WHERE phone = $1 AND created_at > $2::timestamptz - interval '1 hour') AS wait, "
	    "  (SELECT language FROM person WHERE phone = $1) AS language";
	static const char q_insert[] =
	    "WITH o AS (INSERT INTO otp_request (id, phone, code_hash, client_addr, created_at, expires_at) "
	    "           VALUES ($1, $2, decode($3, 'hex'), $4, $5, $6) RETURNING id), "
	    "     v AS (SELECT jsonb_build_object('code', $7::text) AS vars) "
	    "INSERT INTO sms_outbox (dedupe_key, to_phone, template, language, variables, body, next_attempt_at, "
	    "                        created_at, updated_at) "
	    "SELECT 'otp:' || o.id, $2, 'otp', t.language, v.vars, sms_render(t.body, v.vars), $5, $5, $5 "
	    "  FROM o, v, sms_template t WHERE t.code = 'otp' AND t.language = $8";
	const char *phone = NULL, *language = NULL;
	const struct jv_field fields[] = {
	    JV_STR_OK("phone", 1, 9, 16, account_phone_valid, ACCOUNT_PHONE_FORMAT, &phone),
	    JV_STR_OK("language", 0, 2, 2, account_language_ok, "must be en or hi", &language),
	    JV_END,
	};
	char now[40], expires[40], request_id[2 * ACCOUNT_REQUEST_ID_BYTES + 1], code[ACCOUNT_OTP_DIGITS + 1];
	char hash[2 * CRYPTO_SHA256_LEN + 1];
	unsigned char rid[ACCOUNT_REQUEST_ID_BYTES];
	enum db_status st;
	PGresult *res = NULL;
	int64_t now_us = clock_now_us();

	if (jv_check_or_reply(r, fields) != 0)
		goto out;
	clock_format(now_us, now, sizeof now);
	clock_format(now_us + (int64_t)cfg.otp_ttl_seconds * 1000000, expires, sizeof expires);
	st = db_begin();
	if (st != DB_OK)
		goto db_fail;
	const char *lp[] = {phone, now, r->client_addr};
	res = db_exec(q_limits, 3, lp, &st);
	if (st != DB_OK)
		goto db_fail;
	int phone_limited = db_col_ll(res, 0, "per_phone") >= cfg.otp_per_phone_per_hour;
	if (phone_limited || db_col_ll(res, 0, "per_addr") >= cfg.otp_per_addr_per_hour) {
		long long wait = db_col_ll(res, 0, "wait");
		r->retry_after = wait > 0 && phone_limited ? (int)wait : ACCOUNT_ADDR_LIMITED_RETRY_S;
		http_error(r, 429, "too_many_requests", "too many codes were requested; try again later");
		goto out;
	}
	const char *known_lang = db_col(res, 0, "language");
	const char *msg_lang = known_lang ? known_lang : language ? language : "hi";
	if (crypto_random(rid, sizeof rid) != 0 || crypto_digits(code, ACCOUNT_OTP_DIGITS) != 0) {
		http_error(r, 500, "internal_error", "no randomness available");
		goto out;
	}
	crypto_hex(rid, sizeof rid, request_id);
	account_otp_hash(request_id, code, hash);
	const char *ip[] = {request_id, phone, hash, r->client_addr, now, expires, code, msg_lang};
	st = db_run(q_insert, 8, ip);
	if (st == DB_OK)
		st = db_commit();
	if (st != DB_OK)
		goto db_fail;
	/* The reply is the same whether or not the phone is known. */
	http_reply_json(r, 202, json_pack("{s:s, s:s}", "request_id", request_id, "expires_at", expires));
	goto out;
db_fail:
	http_error_db(r, st);
out:
	PQclear(res);
}

void account_otp_verify(struct http_req *r)
{
	static const char q_find[] =
	    "SELECT phone, encode(code_hash, 'hex') AS code_hash, attempts, expires_at <= $2::timestamptz AS expired, "
	    "       used_at IS NOT NULL AS used "
	    "FROM otp_request WHERE id = $1 FOR UPDATE";
	static const char q_wrong[] = "UPDATE otp_request SET attempts = attempts + 1 WHERE id = $1";
	static const char q_used[] = "UPDATE otp_request SET used_at = $2 WHERE id = $1";
	static const char q_person[] =
	    "WITH ins AS (INSERT INTO person (phone, created_at) VALUES ($1, $2) ON CONFLICT (phone) DO NOTHING "
	    "             RETURNING id, phone, name, language, time_zone) "
	    "SELECT id, phone, name, language, time_zone FROM ins "
	    "UNION ALL SELECT id, phone, name, language, time_zone FROM person WHERE phone = $1 LIMIT 1";
	const char *request_id = NULL, *code = NULL;
	char code_why[48];
	const struct jv_field fields[] = {
	    JV_STR_OK("request_id", 1, 2 * ACCOUNT_REQUEST_ID_BYTES, 2 * ACCOUNT_REQUEST_ID_BYTES,
	              account_request_id_ok, "must be the request_id returned by /auth/otp", &request_id),
	    JV_STR_OK("code", 1, ACCOUNT_OTP_DIGITS, ACCOUNT_OTP_DIGITS, account_code_ok, code_why, &code),
	    JV_END,
	};
	char now[40], token[44], expires[40], hash[2 * CRYPTO_SHA256_LEN + 1];
	enum db_status st;
	PGresult *res = NULL, *person = NULL;

	snprintf(code_why, sizeof code_why, "must be the %d digits sent by SMS", ACCOUNT_OTP_DIGITS);
	if (jv_check_or_reply(r, fields) != 0)
		goto out;
	clock_now_text(now, sizeof now);
	st = db_begin();
	if (st != DB_OK)
		goto db_fail;
	const char *fp[] = {request_id, now};
	res = db_exec(q_find, 2, fp, &st);
	if (st != DB_OK)
		goto db_fail;
	if (PQntuples(res) == 0) {
		http_error(r, 401, "otp_invalid", "the code is wrong or has expired; request a new one");
		goto out;
	}
	if (db_col_true(res, 0, "used")) {
		http_error(r, 401, "otp_used", "this code was already used; request a new one");
		goto out;
	}
	if (db_col_true(res, 0, "expired")) {
		http_error(r, 401, "otp_expired", "this code has expired; request a new one");
		goto out;
	}
	long long attempts = db_col_ll(res, 0, "attempts");
	if (attempts >= cfg.otp_max_attempts) {
		r->retry_after = ACCOUNT_OTP_LOCKED_RETRY_S;
		http_error(r, 429, "otp_locked", "too many wrong codes; request a new one");
		goto out;
	}
	account_otp_hash(request_id, code, hash);
	const char *idp[] = {request_id, now};
	if (!crypto_equal(hash, db_col(res, 0, "code_hash"), sizeof hash - 1)) {
		st = db_run(q_wrong, 1, idp);
		if (st == DB_OK)
			st = db_commit();
		if (st != DB_OK)
			goto db_fail;
		long left = cfg.otp_max_attempts - (long)attempts - 1;
		http_error(r, 401, "otp_invalid", "the code is wrong; %ld attempt%s left", left, left == 1 ? "" : "s");
		goto out;
	}
	const char *pp[] = {db_col(res, 0, "phone"), now};
	st = db_run(q_used, 2, idp);
	if (st != DB_OK)
		goto db_fail;
	person = db_exec(q_person, 2, pp, &st);
	if (st != DB_OK || PQntuples(person) != 1) {
		st = st == DB_OK ? DB_RETRY : st;
		goto db_fail;
	}
	struct auth who = {ROLE_RESIDENT, db_col_ll(person, 0, "id"), 0};
	st = auth_session_create(&who, cfg.session_days_resident * 86400L, token, expires);
	if (st == DB_OK)
		st = db_commit();
	if (st != DB_OK)
		goto db_fail;
	http_reply_json(r, 200,
	                json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "token", token, "role", "resident",
	                          "expires_at", expires, "person", "phone", db_col(person, 0, "phone"), "name",
	                          db_col(person, 0, "name"), "language", db_col(person, 0, "language"), "time_zone",
	                          db_col(person, 0, "time_zone")));
	goto out;
db_fail:
	http_error_db(r, st);
out:
	PQclear(res);
	PQclear(person);
}

/* The token itself goes: a phone left behind, or a shared office computer, keeps no live
 * session. The dispatcher has already checked the token, so it is well formed. */
void account_logout(struct http_req *r)
{
	const char *h = http_header(r, "Authorization");
	enum db_status st = auth_session_end(h + 7);
	if (st != DB_OK) {
		http_error_db(r, st);
		return;
	}
	http_reply(r, 204, NULL, "", 0);
}

void account_login(struct http_req *r)
{
	static const char q_find[] =
	    "SELECT role, id, password_hash, name, coalesce(district_id, 0) AS district_id FROM staff "
	    "WHERE login = $1 AND active "
	    "UNION ALL "
	    "SELECT 'agent', id, password_hash, name, district_id FROM agent WHERE code = $1 AND active";
	/* Compared when the login is unknown, so both paths cost one PBKDF2. */
	static const char dummy[] = "pbkdf2-sha256$600000$AAAAAAAAAAAAAAAAAAAAAA$"
	                            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	const char *login = NULL, *password = NULL;
	const struct jv_field fields[] = {
	    JV_STR("login", 1, 1, 64, &login),
	    JV_STR("password", 1, 1, 256, &password),
	    JV_END,
	};
	char token[44], expires[40];
	enum db_status st;
	PGresult *res = NULL;

	if (jv_check_or_reply(r, fields) != 0)
		goto out;
	const char *p[] = {login};
	res = db_exec(q_find, 1, p, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	int found = PQntuples(res) == 1;
	int ok = crypto_password_verify(password, found ? db_col(res, 0, "password_hash") : dummy);
	if (!found || !ok) {
		log_info("login refused for an %s account", found ? "existing" : "unknown");
		http_error(r, 401, "invalid_credentials", "the login or the password is wrong");
		goto out;
	}
	const char *role = db_col(res, 0, "role");
	struct auth who = {auth_role_parse(role), db_col_ll(res, 0, "id"), db_col_ll(res, 0, "district_id")};
	st = auth_session_create(&who, cfg.session_hours_staff * 3600L, token, expires);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	http_reply_json(r, 200,
	                json_pack("{s:s, s:s, s:s, s:s}", "token", token, "role", role, "expires_at", expires, "name",
	                          db_col(res, 0, "name")));
out:
	PQclear(res);
}

void account_dev_sms(struct http_req *r)
{
	static const char sql[] =
	    "SELECT coalesce(json_agg(json_build_object('id', m.id, 'to', m.to_phone, 'template', m.template, "
	    "  'language', m.language, 'body', m.body, 'status', m.status, "
	    "  'created_at', rfc3339(m.created_at, coalesce(d.time_zone, 'UTC'))) ORDER BY m.id DESC), '[]')::text "
	    "FROM (SELECT * FROM sms_outbox WHERE to_phone = $1 ORDER BY id DESC LIMIT 50) m "
	    "LEFT JOIN district d ON d.id = m.district_id";
	char phone[24];
	if (strcmp(cfg.sms_driver, "log") != 0) {
		http_error(r, 404, "not_found", "no such resource");
		return;
	}
	if (http_query(r, "phone", phone, sizeof phone) != 1 || !account_phone_valid(phone)) {
		http_error_field(r, "phone", "is required, in international format, e.g. +919876543210");
		return;
	}
	const char *p[] = {phone};
	http_reply_query(r, sql, 1, p);
}

void account_dev_clock(struct http_req *r)
{
	const char *to = NULL;
	const struct jv_field fields[] = {
	    JV_STR("now", 1, 20, 40, &to),
	    JV_END,
	};
	struct jv v = {0};
	char now[40];
	if (strcmp(cfg.env, "test") != 0) {
		http_error(r, 404, "not_found", "no such resource");
		return;
	}
	jv_check(&v, r->json, "", fields);
	/* Setting the clock is the check: it refuses what it cannot read. */
	if (!v.failed && clock_set(to) != 0)
		jv_fail(&v, "", "now", "must be an RFC 3339 timestamp");
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	clock_now_text(now, sizeof now);
	http_reply_json(r, 200, json_pack("{s:s}", "now", now));
}
