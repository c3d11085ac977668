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
#define SLA_NOTE_MAX       300

void sla_list(struct http_req *r)
{
	static const char sql[] = "SELECT sla_json($1::int, $2, $3)::text";
	struct db_args a = {0};
	char now[40], state[16];
	int has = http_query(r, "state", state, sizeof state);
	if (has && (has < 0 || (strcmp(state, "on_time") != 0 && strcmp(state, "reminded") != 0 &&
	                        strcmp(state, "escalated") != 0))) {
		http_error_field(r, "state", "must be on_time, reminded or escalated");
		return;
	}
	clock_now_text(now, sizeof now);
	db_arg_ll(&a, r->auth.district_id);
	db_arg_text(&a, now);
	db_arg_text(&a, has ? state : NULL);
	http_reply_query(r, sql, a.n, a.v);
}

void sla_remind(struct http_req *r)
{
	static const char q_lock[] =
	    "SELECT b.id, b.status FROM booking b WHERE b.reference = $1 "
	    "   AND (b.booker_id = $2::bigint OR b.beneficiary_id = $2::bigint) FOR UPDATE OF b";
	static const char q_last[] =
	    "SELECT ceil(extract(epoch FROM max(a.at) + $3::int * interval '1 second' - $2::timestamptz)) AS wait "
	    "  FROM sla_alert a WHERE a.booking_id = $1 AND a.kind = 'resident'";
	static const char q_remind[] = "SELECT sla_resident_reminder($1, $2, $3, $4) AS alert";
	static const char q_reply[] =
	    "SELECT json_build_object('reference', b.reference, 'status', b.status, "
	    "  'reminded_at', rfc3339(a.at, d.time_zone), "
	    "  'next_reminder_at', rfc3339(a.at + $2::int * interval '1 second', d.time_zone), "
	    "  'officer', s.name)::text "
	    "FROM sla_alert a JOIN booking b ON b.id = a.booking_id JOIN district d ON d.id = b.district_id "
	    "LEFT JOIN staff s ON s.id = a.staff_id WHERE a.id = $1";
	static const char *const closed[] = {"delivered", "cancelled", "rescheduled", "rejected", "failed", "no_show"};
	const char *note = NULL;
	const struct jv_field fields[] = {
	    JV_STR("note", 0, 1, SLA_NOTE_MAX, &note),
	    JV_END,
	};
	struct db_args lock = {0}, last = {0}, remind = {0}, reply = {0};
	char now[40];
	enum db_status st;
	PGresult *b = NULL, *res = NULL;

	if (jv_check_or_reply(r, fields) != 0)
		return;
	clock_now_text(now, sizeof now);
	st = db_begin();
	if (st != DB_OK)
		goto db_fail;
	db_arg_text(&lock, r->params[0]);
	db_arg_ll(&lock, r->auth.id);
	b = db_exec(q_lock, lock.n, lock.v, &st);
	if (st != DB_OK)
		goto db_fail;
	if (PQntuples(b) != 1) {
		http_error(r, 404, "not_found", "no booking with this reference is yours");
		goto out;
	}
	const char *status = db_col(b, 0, "status");
	for (size_t i = 0; i < sizeof closed / sizeof closed[0]; i++)
		if (strcmp(status, closed[i]) == 0) {
			http_error(r, 409, "wrong_state", "a booking that is %s is closed; call the helpline", status);
			goto out;
		}
	db_arg_text(&last, db_col(b, 0, "id"));
	db_arg_text(&last, now);
	db_arg_ll(&last, SLA_REMIND_EVERY_S);
	res = db_exec(q_last, last.n, last.v, &st);
	if (st != DB_OK)
		goto db_fail;
	long long wait = db_col_ll(res, 0, "wait");
	PQclear(res);
	res = NULL;
	if (wait > 0) {
		r->retry_after = wait > SLA_REMIND_EVERY_S ? SLA_REMIND_EVERY_S : (int)wait;
		http_error(r, 429, "too_many_requests", "a reminder on this booking was sent less than %d hours ago",
		           SLA_REMIND_EVERY_S / 3600);
		goto out;
	}
	db_arg_text(&remind, db_col(b, 0, "id"));
	db_arg_ll(&remind, r->auth.id);
	db_arg_text(&remind, now);
	db_arg_text(&remind, note);
	res = db_exec(q_remind, remind.n, remind.v, &st);
	if (st != DB_OK)
		goto db_fail;
	db_arg_ll(&reply, db_col_ll(res, 0, "alert"));
	db_arg_ll(&reply, SLA_REMIND_EVERY_S);
	PQclear(res);
	res = db_exec(q_reply, reply.n, reply.v, &st);
	if (st != DB_OK)
		goto db_fail;
	st = db_commit();
	if (st != DB_OK)
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
