#include "scheduler/sms_api.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "scheduler/sms.h"
#include "util.h"


/* A gateway's word for a delivery state → ours (NULL when unknown). */
static const char *sms_dlr_status(const char *s)
{
	static const struct {
		const char *gateway, *ours;
	} map[] = {
		{ "delivered", "delivered" }, { "DELIVRD", "delivered" }, { "sent", "sent" },
		{ "accepted", "sent" },       { "submitted", "sent" },    { "failed", "failed" },
		{ "undelivered", "failed" },  { "UNDELIV", "failed" },    { "expired", "failed" },
		{ "EXPIRED", "failed" },      { "rejected", "failed" },   { "REJECTD", "failed" },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(map[i].gateway, s) == 0)
			return map[i].ours;
	return NULL;
}

void sms_dlr(struct http_req *r)
{
	static const char *const fields[] = { "client_ref", "gateway_id", "status", "error", "at", NULL };
	static const char sql[] = "SELECT status, changed FROM sms_delivery_report($1, $2, $3, $4, $5)";
	struct jv v = { 0 };
	json_error_t jerr;
	json_t *body = NULL;
	PGresult *res = NULL;
	enum db_status st;
	char now[40];

	/* The signature first: nothing of an unsigned body is looked at. */
	if (!sms_signature_ok(cfg.sms_dlr_secret, r->body ? r->body : "", r->body_len, http_header(r, "X-Signature"))) {
		http_error(r, 401, "invalid_signature", "X-Signature must be the hex HMAC-SHA256 of the body");
		goto out;
	}
	body = r->body ? json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	if (!json_is_object(body)) {
		http_error(r, 400, "invalid_json", "the body must be a JSON object");
		goto out;
	}
	jv_only(&v, body, "", fields);
	const char *ref = jv_string(&v, body, "", "client_ref", 0, 1, 20);
	const char *gw = jv_string(&v, body, "", "gateway_id", 0, 1, 80);
	const char *status = jv_string(&v, body, "", "status", 1, 1, 20);
	const char *error = jv_string(&v, body, "", "error", 0, 0, 200);
	jv_string(&v, body, "", "at", 0, 0, 40);
	if (!v.failed && ref && strspn(ref, "0123456789") != strlen(ref))
		jv_fail(&v, "", "client_ref", "must be the client_ref Mitan sent");
	if (!v.failed && !ref && !gw)
		jv_fail(&v, "", "client_ref", "client_ref or gateway_id is required");
	const char *ours = !v.failed ? sms_dlr_status(status) : NULL;
	if (!v.failed && !ours)
		jv_fail(&v, "", "status", "must be delivered, sent, failed, undelivered, expired or rejected");
	if (v.failed) {
		jv_reply(r, &v);
		goto out;
	}
	clock_now_text(now, sizeof now);
	const char *p[] = { ref, gw, ours, error, now };
	res = db_exec(sql, 5, p, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(res) != 1) {
		http_error(r, 404, "not_found", "no message with this client_ref or gateway_id");
		goto out;
	}
	metrics_count("mitan_sms_reports_total", 1);
	http_reply_json(r, 200, json_pack("{s:s, s:b}", "status", db_get(res, 0, 0), "changed",
					  db_get(res, 0, 1)[0] == 't'));
out:
	PQclear(res);
	json_decref(body);
}

void sms_dead_letters(struct http_req *r)
{
	static const char sql[] =
		"SELECT coalesce(json_agg(json_build_object('id', m.id, 'to', m.to_phone, 'template', m.template, "
		"  'language', m.language, 'attempts', m.attempts, 'error', m.last_error, 'reference', b.reference, "
		"  'created_at', rfc3339(m.created_at, 'Asia/Kolkata'), 'failed_at', rfc3339(m.updated_at, 'Asia/Kolkata')) "
		"  ORDER BY m.updated_at DESC, m.id DESC), '[]')::text "
		"FROM (SELECT * FROM sms_outbox WHERE status = 'failed' AND ($1::int = 0 OR district_id = $1::int) "
		"      ORDER BY updated_at DESC, id DESC LIMIT $2::int) m LEFT JOIN booking b ON b.id = m.booking_id";
	char district[24], limit_text[16];
	long limit = 100;
	int has = http_query(r, "limit", limit_text, sizeof limit_text);
	if (has && (has < 0 || parse_long(limit_text, 1, 1000, &limit) != 0)) {
		http_error_field(r, "limit", "must be a whole number from 1 to 1000");
		return;
	}
	snprintf(district, sizeof district, "%lld", r->auth.district_id);
	snprintf(limit_text, sizeof limit_text, "%ld", limit);
	const char *p[] = { district, limit_text };
	http_reply_query(r, sql, 2, p);
}

/* An officer sends a dead letter again (the gateway or its DLT template was fixed): the
 * message is queued as new, its dedupe key kept, so it still goes out at most once more.
 * The workers are woken in the same transaction; the retry is audited. */
void sms_dead_letter_retry(struct http_req *r)
{
	static const char q_retry[] =
		"WITH m AS (UPDATE sms_outbox SET status = 'queued', attempts = 0, next_attempt_at = $3, updated_at = $3 "
		"           WHERE id = $1 AND status = 'failed' AND ($2::int = 0 OR district_id = $2::int) "
		"           RETURNING id, district_id, template), "
		"     a AS (INSERT INTO audit_log (district_id, at, actor_role, actor_id, action, object_type, object_ref, detail) "
		"           SELECT m.district_id, $3, $4, $5, 'sms.retry', 'sms', m.id::text, "
		"                  jsonb_build_object('template', m.template) FROM m) "
		"SELECT json_build_object('id', m.id, 'status', 'queued')::text, pg_notify('mitan_work', 'sms_outbox') FROM m";
	static const char q_state[] =
		"SELECT status FROM sms_outbox WHERE id = $1 AND ($2::int = 0 OR district_id = $2::int)";
	char district[24], now[40], actor[24];
	long id;
	enum db_status st;
	PGresult *res = NULL;

	if (parse_long(r->params[0], 1, 9007199254740991L, &id) != 0) {
		http_error(r, 404, "not_found", "no such message in your district");
		return;
	}
	snprintf(district, sizeof district, "%lld", r->auth.district_id);
	snprintf(actor, sizeof actor, "%lld", r->auth.id);
	clock_now_text(now, sizeof now);
	const char *p[] = { r->params[0], district, now, auth_role_name(r->auth.role), actor };
	res = db_exec(q_retry, 5, p, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(res) == 1) {
		log_info("sms %s queued again by the office", r->params[0]);
		http_reply_json_text(r, 200, db_get(res, 0, 0));
		goto out;
	}
	PQclear(res);
	res = db_exec(q_state, 2, p, &st);
	if (st != DB_OK)
		http_error_db(r, st);
	else if (PQntuples(res) == 1)
		http_error(r, 409, "wrong_state", "this message is %s, not a dead letter", db_get(res, 0, 0));
	else
		http_error(r, 404, "not_found", "no such message in your district");
out:
	PQclear(res);
}
