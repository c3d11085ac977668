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

#define SMS_DEAD_LETTERS_DEFAULT 100
#define SMS_DEAD_LETTERS_MAX     1000

/* A gateway's word for a delivery state → ours (NULL when unknown). */
static const char *sms_dlr_status(const char *s)
{
	static const struct {
		const char *gateway, *ours;
	} map[] = {
	    {"delivered", "delivered"}, {"DELIVRD", "delivered"}, {"sent", "sent"},          {"accepted", "sent"},
	    {"submitted", "sent"},      {"failed", "failed"},     {"undelivered", "failed"}, {"UNDELIV", "failed"},
	    {"expired", "failed"},      {"EXPIRED", "failed"},    {"rejected", "failed"},    {"REJECTD", "failed"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(map[i].gateway, s) == 0)
			return map[i].ours;
	return NULL;
}

static int sms_dlr_status_known(const char *s)
{
	return sms_dlr_status(s) != NULL;
}

/* client_ref is the sms_outbox id Mitan sent. */
static int sms_client_ref_ok(const char *s)
{
	return strspn(s, "0123456789") == strlen(s);
}

void sms_dlr(struct http_req *r)
{
	static const char sql[] = "SELECT status, changed FROM sms_delivery_report($1, $2, $3, $4, $5)";
	const char *ref = NULL, *gw = NULL, *status = NULL, *error = NULL;
	const struct jv_field fields[] = {
	    JV_STR_OK("client_ref", 0, 1, 20, sms_client_ref_ok, "must be the client_ref Mitan sent", &ref),
	    JV_STR("gateway_id", 0, 1, 80, &gw),
	    JV_STR_OK("status", 1, 1, 20, sms_dlr_status_known,
	              "must be delivered, sent, failed, undelivered, expired or rejected", &status),
	    JV_STR("error", 0, 0, 200, &error),
	    JV_STR("at", 0, 0, 40, NULL),
	    JV_END,
	};
	struct jv v = {0};
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
	jv_check(&v, body, "", fields);
	if (!v.failed && !ref && !gw)
		jv_fail(&v, "", "client_ref", "client_ref or gateway_id is required");
	if (v.failed) {
		jv_reply(r, &v);
		goto out;
	}
	clock_now_text(now, sizeof now);
	const char *p[] = {ref, gw, sms_dlr_status(status), error, now};
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
	http_reply_json(
	    r, 200,
	    json_pack("{s:s, s:b}", "status", db_col(res, 0, "status"), "changed", db_col_true(res, 0, "changed")));
out:
	PQclear(res);
	json_decref(body);
}

void sms_dead_letters(struct http_req *r)
{
	static const char sql[] =
	    "SELECT coalesce(json_agg(json_build_object('id', m.id, 'to', m.to_phone, 'template', m.template, "
	    "  'language', m.language, 'attempts', m.attempts, 'error', m.last_error, 'reference', b.reference, "
	    "  'created_at', rfc3339(m.created_at, coalesce(d.time_zone, 'UTC')), "
	    "  'failed_at', rfc3339(m.updated_at, coalesce(d.time_zone, 'UTC'))) "
	    "  ORDER BY m.updated_at DESC, m.id DESC), '[]')::text "
	    "FROM (SELECT * FROM sms_outbox WHERE status = 'failed' AND ($1::int = 0 OR district_id = $1::int) "
	    "      ORDER BY updated_at DESC, id DESC LIMIT $2::int) m LEFT JOIN booking b ON b.id = m.booking_id "
	    "LEFT JOIN district d ON d.id = m.district_id";
	struct db_args a = {0};
	char limit_text[16];
	long limit = SMS_DEAD_LETTERS_DEFAULT;
	int has = http_query(r, "limit", limit_text, sizeof limit_text);
	if (has && (has < 0 || parse_long(limit_text, 1, SMS_DEAD_LETTERS_MAX, &limit) != 0)) {
		char msg[64];
		snprintf(msg, sizeof msg, "must be a whole number from 1 to %d", SMS_DEAD_LETTERS_MAX);
		http_error_field(r, "limit", msg);
		return;
	}
	db_arg_ll(&a, r->auth.district_id);
	db_arg_ll(&a, limit);
	http_reply_query(r, sql, a.n, a.v);
}

/* An officer sends a dead letter again (the gateway or its DLT template was fixed): the
 * message is queued as new, its dedupe key kept, so it still goes out at most once more.
 * The workers are woken in the same transaction; the retry is audited. */
void sms_dead_letter_retry(struct http_req *r)
{
	static const char q_retry[] =
	    "WITH m AS (UPDATE sms_outbox SET status = 'queued', attempts = 0, next_attempt_at = $3, updated_at = $3 "
	    "           WHERE id = $1 AND status = 'failed' AND ($2::int = 0 OR district_id = $2::int) "
	    "           RETURNING id, district_id, template) "
	    "SELECT json_build_object('id', m.id, 'status', 'queued')::text AS reply, "
	    "       audit_write(m.district_id, $3, $4, $5, 'sms.retry', 'sms', m.id::text, "
	    "                   jsonb_build_object('template', m.template)), "
	    "       pg_notify('mitan_work', 'sms_outbox') FROM m";
	static const char q_state[] =
	    "SELECT status FROM sms_outbox WHERE id = $1 AND ($2::int = 0 OR district_id = $2::int)";
	struct db_args a = {0};
	char now[40];
	long id;
	enum db_status st;
	PGresult *res = NULL;

	if (parse_long(r->params[0], 1, PARSE_EXACT_MAX, &id) != 0) {
		http_error(r, 404, "not_found", "no such message in your district");
		return;
	}
	clock_now_text(now, sizeof now);
	db_arg_ll(&a, id);
	db_arg_ll(&a, r->auth.district_id);
	db_arg_text(&a, now);
	db_arg_text(&a, auth_role_name(r->auth.role));
	db_arg_ll(&a, r->auth.id);
	res = db_exec(q_retry, a.n, a.v, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(res) == 1) {
		log_info("sms %s queued again by the office", r->params[0]);
		http_reply_json_text(r, 200, db_col(res, 0, "reply"));
		goto out;
	}
	PQclear(res);
	res = db_exec(q_state, 2, a.v, &st);
	if (st != DB_OK)
		http_error_db(r, st);
	else if (PQntuples(res) == 1)
		http_error(r, 409, "wrong_state", "this message is %s, not a dead letter", db_col(res, 0, "status"));
	else
		http_error(r, 404, "not_found", "no such message in your district");
out:
	PQclear(res);
}
