#include "scheduler/sla_api.h"

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

#define SLA_REMIND_EVERY_S 86400 /* a resident's reminders on one booking: one a day */

void sla_list(struct http_req *r)
{
	static const char sql[] = "SELECT sla_json($1::int, $2, $3)::text";
	char district[24], now[40], state[16];
	int has = http_query(r, "state", state, sizeof state);
	if (has && (has < 0 || (strcmp(state, "on_time") != 0 && strcmp(state, "reminded") != 0 &&
				strcmp(state, "escalated") != 0))) {
		http_error_field(r, "state", "must be on_time, reminded or escalated");
		return;
	}
	snprintf(district, sizeof district, "%lld", r->auth.district_id);
	clock_now_text(now, sizeof now);
	const char *p[] = { district, now, has ? state : NULL };
	http_reply_query(r, sql, 3, p);
}

void sla_remind(struct http_req *r)
{
	static const char *const fields[] = { "note", NULL };
	static const char q_lock[] =
		"SELECT b.id, b.status FROM booking b WHERE b.reference = $1 "
		"   AND (b.booker_id = $2::bigint OR b.beneficiary_id = $2::bigint) FOR UPDATE OF b";
	static const char q_last[] =
		"SELECT ceil(extract(epoch FROM max(a.at) + $3::int * interval '1 second' - $2::timestamptz)) "
		"  FROM sla_alert a WHERE a.booking_id = $1 AND a.kind = 'resident'";
	static const char q_remind[] = "SELECT sla_resident_reminder($1, $2, $3, $4)";
	static const char q_reply[] =
		"SELECT json_build_object('reference', b.reference, 'status', b.status, "
		"  'reminded_at', rfc3339(a.at, d.time_zone), "
		"  'next_reminder_at', rfc3339(a.at + $2::int * interval '1 second', d.time_zone), "
		"  'officer', s.name)::text "
		"FROM sla_alert a JOIN booking b ON b.id = a.booking_id JOIN district d ON d.id = b.district_id "
		"LEFT JOIN staff s ON s.id = a.staff_id WHERE a.id = $1";
	struct jv v = { 0 };
	char now[40], person[24], every[16], alert[24];
	enum db_status st;
	PGresult *b = NULL, *res = NULL;

	jv_only(&v, r->json, "", fields);
	const char *note = jv_string(&v, r->json, "", "note", 0, 1, 300);
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	clock_now_text(now, sizeof now);
	snprintf(person, sizeof person, "%lld", r->auth.id);
	snprintf(every, sizeof every, "%d", SLA_REMIND_EVERY_S);
	if ((st = db_begin()) != DB_OK)
		goto db_fail;
	const char *lp[] = { r->params[0], person };
	b = db_exec(q_lock, 2, lp, &st);
	if (st != DB_OK)
		goto db_fail;
	if (PQntuples(b) != 1) {
		http_error(r, 404, "not_found", "no booking with this reference is yours");
		goto out;
	}
	const char *status = db_get(b, 0, 1);
	static const char *const closed[] = { "delivered", "cancelled", "rescheduled", "rejected", "failed", "no_show" };
	for (size_t i = 0; i < sizeof closed / sizeof closed[0]; i++)
		if (strcmp(status, closed[i]) == 0) {
			http_error(r, 409, "wrong_state", "a booking that is %s is closed; call the helpline", status);
			goto out;
		}
	const char *qp[] = { db_get(b, 0, 0), now, every };
	res = db_exec(q_last, 3, qp, &st);
	if (st != DB_OK)
		goto db_fail;
	long long wait = db_get(res, 0, 0) ? db_get_ll(res, 0, 0) : 0;
	PQclear(res);
	res = NULL;
	if (wait > 0) {
		r->retry_after = wait > 86400 ? 86400 : (int)wait;
		http_error(r, 429, "too_many_requests", "a reminder on this booking was sent less than 24 hours ago");
		goto out;
	}
	const char *rp[] = { db_get(b, 0, 0), person, now, note };
	res = db_exec(q_remind, 4, rp, &st);
	if (st != DB_OK)
		goto db_fail;
	snprintf(alert, sizeof alert, "%s", db_get(res, 0, 0));
	PQclear(res);
	const char *ap[] = { alert, every };
	res = db_exec(q_reply, 2, ap, &st);
	if (st != DB_OK)
		goto db_fail;
	if ((st = db_commit()) != DB_OK)
		goto db_fail;
	metrics_count("mitan_resident_reminders_total", 1);
	http_reply_json_text(r, 202, db_get(res, 0, 0));
	goto out;
db_fail:
	db_rollback();
	http_error_db(r, st);
out:
	PQclear(b);
	PQclear(res);
}
