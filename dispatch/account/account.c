#include "account/account.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "log.h"

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
	static const char *const fields[] = { "phone", "language", NULL };
	/* The per-phone lock serialises concurrent sends to one phone so the limit holds. */
	static const char q_limits[] =
		"SELECT pg_advisory_xact_lock(hashtext('otp:' || $1)), "
		"  (SELECT count(*) FROM otp_request WHERE phone = $1 AND created_at > $2::timestamptz - interval '1 hour'), "
		"  (SELECT count(*) FROM otp_request WHERE client_addr = $3 AND created_at > $2::timestamptz - interval '1 hour'), "
		"  (SELECT ceil(extract(epoch FROM min(created_at) + interval '1 hour' - $2::timestamptz)) FROM otp_request "
		"    WHERE phone = $1 AND created_at > $2::timestamptz - interval '1 hour'), "
		"  (SELECT language FROM person WHERE phone = $1)";
	static const char q_insert[] =
		"WITH o AS (INSERT INTO otp_request (id, phone, code_hash, client_addr, created_at, expires_at) "
		"           VALUES ($1, $2, decode($3, 'hex'), $4, $5, $6) RETURNING id), "
		"     v AS (SELECT jsonb_build_object('code', $7::text) AS vars) "
		"INSERT INTO sms_outbox (dedupe_key, to_phone, template, language, variables, body, next_attempt_at, "
		"                        created_at, updated_at) "
		"SELECT 'otp:' || o.id, $2, 'otp', t.language, v.vars, sms_render(t.body, v.vars), $5, $5, $5 "
		"  FROM o, v, sms_template t WHERE t.code = 'otp' AND t.language = $8";
	struct jv v = { 0 };
	char now[40], expires[40], request_id[33], code[8], hash[2 * CRYPTO_SHA256_LEN + 1];
	unsigned char rid[16];
	enum db_status st;
	PGresult *res = NULL;
	int64_t now_us = clock_now_us();

	jv_only(&v, r->json, "", fields);
	const char *phone = jv_string(&v, r->json, "", "phone", 1, 9, 16);
	const char *language = jv_string(&v, r->json, "", "language", 0, 2, 2);
	if (!v.failed && !account_phone_valid(phone))
		jv_fail(&v, "", "phone", "must be in international format, e.g. +919876543210");
	if (!v.failed && language && strcmp(language, "en") != 0 && strcmp(language, "hi") != 0)
		jv_fail(&v, "", "language", "must be en or hi");
	if (v.failed) {
		jv_reply(r, &v);
		goto out;
	}
	clock_format(now_us, now, sizeof now);
	clock_format(now_us + (int64_t)cfg.otp_ttl_seconds * 1000000, expires, sizeof expires);
	if ((st = db_begin()) != DB_OK)
		goto db_fail;
	const char *lp[] = { phone, now, r->client_addr };
	res = db_exec(q_limits, 3, lp, &st);
	if (st != DB_OK)
		goto db_fail;
	if (db_get_ll(res, 0, 1) >= cfg.otp_per_phone_per_hour || db_get_ll(res, 0, 2) >= cfg.otp_per_addr_per_hour) {
		long long wait = db_get_ll(res, 0, 3);
		r->retry_after = wait > 0 && db_get_ll(res, 0, 1) >= cfg.otp_per_phone_per_hour ? (int)wait : 600;
		http_error(r, 429, "too_many_requests", "too many codes were requested; try again later");
		goto out;
	}
	const char *msg_lang = db_get(res, 0, 4) ? db_get(res, 0, 4) : language ? language : "hi";
	if (crypto_random(rid, sizeof rid) != 0 || crypto_digits(code, 6) != 0) {
		http_error(r, 500, "internal_error", "no randomness available");
		goto out;
	}
	crypto_hex(rid, sizeof rid, request_id);
	account_otp_hash(request_id, code, hash);
	const char *ip[] = { request_id, phone, hash, r->client_addr, now, expires, code, msg_lang };
	if ((st = db_run(q_insert, 8, ip)) != DB_OK || (st = db_commit()) != DB_OK)
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
	static const char *const fields[] = { "request_id", "code", NULL };
	static const char q_find[] =
		"SELECT phone, encode(code_hash, 'hex'), attempts, expires_at <= $2::timestamptz, used_at IS NOT NULL "
		"FROM otp_request WHERE id = $1 FOR UPDATE";
	static const char q_wrong[] = "UPDATE otp_request SET attempts = attempts + 1 WHERE id = $1";
	static const char q_used[] = "UPDATE otp_request SET used_at = $2 WHERE id = $1";
	static const char q_person[] =
		"WITH ins AS (INSERT INTO person (phone, created_at) VALUES ($1, $2) ON CONFLICT (phone) DO NOTHING "
		"             RETURNING id, phone, name, language, time_zone) "
		"SELECT id, phone, name, language, time_zone FROM ins "
		"UNION ALL SELECT id, phone, name, language, time_zone FROM person WHERE phone = $1 LIMIT 1";
	struct jv v = { 0 };
	char now[40], token[44], expires[40], hash[2 * CRYPTO_SHA256_LEN + 1];
	enum db_status st;
	PGresult *res = NULL, *person = NULL;

	jv_only(&v, r->json, "", fields);
	const char *request_id = jv_string(&v, r->json, "", "request_id", 1, 32, 32);
	const char *code = jv_string(&v, r->json, "", "code", 1, 6, 6);
	if (!v.failed && strspn(request_id, "0123456789abcdef") != 32)
		jv_fail(&v, "", "request_id", "must be the request_id returned by /auth/otp");
	if (!v.failed && strspn(code, "0123456789") != 6)
		jv_fail(&v, "", "code", "must be the 6 digits sent by SMS");
	if (v.failed) {
		jv_reply(r, &v);
		goto out;
	}
	clock_now_text(now, sizeof now);
	if ((st = db_begin()) != DB_OK)
		goto db_fail;
	const char *fp[] = { request_id, now };
	res = db_exec(q_find, 2, fp, &st);
	if (st != DB_OK)
		goto db_fail;
	if (PQntuples(res) == 0) {
		http_error(r, 401, "otp_invalid", "the code is wrong or has expired; request a new one");
		goto out;
	}
	if (db_get(res, 0, 4)[0] == 't') {
		http_error(r, 401, "otp_used", "this code was already used; request a new one");
		goto out;
	}
	if (db_get(res, 0, 3)[0] == 't') {
		http_error(r, 401, "otp_expired", "this code has expired; request a new one");
		goto out;
	}
	if (db_get_ll(res, 0, 2) >= cfg.otp_max_attempts) {
		r->retry_after = 60;
		http_error(r, 429, "otp_locked", "too many wrong codes; request a new one");
		goto out;
	}
	account_otp_hash(request_id, code, hash);
	const char *idp[] = { request_id, now };
	if (!crypto_equal(hash, db_get(res, 0, 1), sizeof hash - 1)) {
		if ((st = db_run(q_wrong, 1, idp)) != DB_OK || (st = db_commit()) != DB_OK)
			goto db_fail;
		long left = cfg.otp_max_attempts - (long)db_get_ll(res, 0, 2) - 1;
		http_error(r, 401, "otp_invalid", "the code is wrong; %ld attempt%s left", left, left == 1 ? "" : "s");
		goto out;
	}
	const char *pp[] = { db_get(res, 0, 0), now };
	if ((st = db_run(q_used, 2, idp)) != DB_OK)
		goto db_fail;
	person = db_exec(q_person, 2, pp, &st);
	if (st != DB_OK || PQntuples(person) != 1) {
		st = st == DB_OK ? DB_RETRY : st;
		goto db_fail;
	}
	struct auth who = { ROLE_RESIDENT, db_get_ll(person, 0, 0), 0 };
	if ((st = auth_session_create(&who, cfg.session_days_resident * 86400L, token, expires)) != DB_OK ||
	    (st = db_commit()) != DB_OK)
		goto db_fail;
	http_reply_json(r, 200,
			json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "token", token, "role", "resident",
				  "expires_at", expires, "person", "phone", db_get(person, 0, 1), "name",
				  db_get(person, 0, 2), "language", db_get(person, 0, 3), "time_zone",
				  db_get(person, 0, 4)));
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
	static const char *const fields[] = { "login", "password", NULL };
	static const char q_find[] =
		"SELECT role, id, password_hash, name, coalesce(district_id, 0) FROM staff WHERE login = $1 AND active "
		"UNION ALL "
		"SELECT 'agent', id, password_hash, name, district_id FROM agent WHERE code = $1 AND active";
	/* Compared when the login is unknown, so both paths cost one PBKDF2. */
	static const char dummy[] = "pbkdf2-sha256$600000$AAAAAAAAAAAAAAAAAAAAAA$"
				    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	struct jv v = { 0 };
	char token[44], expires[40];
	enum db_status st;
	PGresult *res = NULL;

	jv_only(&v, r->json, "", fields);
	const char *login = jv_string(&v, r->json, "", "login", 1, 1, 64);
	const char *password = jv_string(&v, r->json, "", "password", 1, 1, 256);
	if (v.failed) {
		jv_reply(r, &v);
		goto out;
	}
	const char *p[] = { login };
	res = db_exec(q_find, 1, p, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	int found = PQntuples(res) == 1;
	int ok = crypto_password_verify(password, found ? db_get(res, 0, 2) : dummy);
	if (!found || !ok) {
		log_info("login refused for an %s account", found ? "existing" : "unknown");
		http_error(r, 401, "invalid_credentials", "the login or the password is wrong");
		goto out;
	}
	struct auth who = { auth_role_parse(db_get(res, 0, 0)), db_get_ll(res, 0, 1), db_get_ll(res, 0, 4) };
	if ((st = auth_session_create(&who, cfg.session_hours_staff * 3600L, token, expires)) != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	http_reply_json(r, 200, json_pack("{s:s, s:s, s:s, s:s}", "token", token, "role", db_get(res, 0, 0),
					  "expires_at", expires, "name", db_get(res, 0, 3)));
out:
	PQclear(res);
}

void account_dev_sms(struct http_req *r)
{
	static const char sql[] =
		"SELECT coalesce(json_agg(json_build_object('id', id, 'to', to_phone, 'template', template, "
		"  'language', language, 'body', body, 'status', status, 'created_at', rfc3339(created_at, 'Asia/Kolkata')) "
		"  ORDER BY id DESC), '[]')::text "
		"FROM (SELECT * FROM sms_outbox WHERE to_phone = $1 ORDER BY id DESC LIMIT 50) m";
	char phone[24];
	if (strcmp(cfg.sms_driver, "log") != 0) {
		http_error(r, 404, "not_found", "no such resource");
		return;
	}
	if (http_query(r, "phone", phone, sizeof phone) != 1 || !account_phone_valid(phone)) {
		http_error_field(r, "phone", "is required, in international format, e.g. +919876543210");
		return;
	}
	const char *p[] = { phone };
	http_reply_query(r, sql, 1, p);
}

void account_dev_clock(struct http_req *r)
{
	static const char *const fields[] = { "now", NULL };
	struct jv v = { 0 };
	char now[40];
	if (strcmp(cfg.env, "test") != 0) {
		http_error(r, 404, "not_found", "no such resource");
		return;
	}
	jv_only(&v, r->json, "", fields);
	const char *to = jv_string(&v, r->json, "", "now", 1, 20, 40);
	if (!v.failed && clock_set(to) != 0)
		jv_fail(&v, "", "now", "must be an RFC 3339 timestamp");
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	clock_now_text(now, sizeof now);
	http_reply_json(r, 200, json_pack("{s:s}", "now", now));
}
