#include "office/office.h"

#include <string.h>

#include "audit.h"
#include "clock.h"

#define OFFICE_PER_WINDOW_MAX 50

/* ---- shifts ---- */

void office_shift_put(struct http_req *r)
{
	static const char q_upsert[] =
	    "INSERT INTO agent_shift (agent_id, day, start_local, end_local, per_window) VALUES ($1, $2, $3, $4, $5) "
	    "ON CONFLICT (agent_id, day) DO UPDATE SET start_local = $3, end_local = $4, per_window = $5";
	/* Windows of the day that the new shift no longer covers go, unless booked. */
	static const char q_booked_outside[] =
	    "SELECT count(*) AS windows FROM agent_window w JOIN agent a ON a.id = w.agent_id JOIN district d ON d.id "
	    "= a.district_id "
	    "JOIN agent_shift s ON s.agent_id = a.id AND s.day = $2::date "
	    "WHERE w.agent_id = $1 AND (w.starts_at AT TIME ZONE d.time_zone)::date = $2::date AND w.booked > 0 "
	    "  AND ((w.starts_at AT TIME ZONE d.time_zone)::time < s.start_local OR (w.ends_at AT TIME ZONE "
	    "d.time_zone)::time > s.end_local)";
	static const char q_drop[] = "DELETE FROM agent_window w USING agent a, district d, agent_shift s "
	                             "WHERE w.agent_id = $1 AND a.id = w.agent_id AND d.id = a.district_id AND "
	                             "s.agent_id = a.id AND s.day = $2::date "
	                             "  AND (w.starts_at AT TIME ZONE d.time_zone)::date = $2::date "
	                             "  AND ((w.starts_at AT TIME ZONE d.time_zone)::time < s.start_local OR "
	                             "(w.ends_at AT TIME ZONE d.time_zone)::time > s.end_local)";
	static const char q_below[] =
	    "SELECT count(*) AS windows FROM agent_window w JOIN agent a ON a.id = w.agent_id "
	    "JOIN district d ON d.id = a.district_id "
	    "WHERE w.agent_id = $1 AND (w.starts_at AT TIME ZONE d.time_zone)::date = $2::date AND w.booked > $3::int";
	/* An agent marked unavailable that day keeps capacity = booked. */
	static const char q_capacity[] =
	    "UPDATE agent_window w SET capacity = CASE WHEN EXISTS (SELECT 1 FROM agent_unavailable u WHERE u.agent_id "
	    "= $1 "
	    "                                                       AND u.day = $2::date) THEN w.booked ELSE $3::int "
	    "END "
	    "FROM agent a, district d WHERE w.agent_id = $1 AND a.id = w.agent_id AND d.id = a.district_id "
	    "  AND (w.starts_at AT TIME ZONE d.time_zone)::date = $2::date";
	static const char q_materialize[] = "SELECT agent_windows_materialize($1::date, $1::date)";
	static const char q_reply[] =
	    "SELECT jsonb_build_object('agent', a.code, 'date', s.day, 'start', to_char(s.start_local, 'HH24:MI'), "
	    "  'end', to_char(s.end_local, 'HH24:MI'), 'per_window', s.per_window, "
	    "  'windows', coalesce((SELECT jsonb_agg(jsonb_build_object('start', rfc3339(w.starts_at, d.time_zone), "
	    "       'end', rfc3339(w.ends_at, d.time_zone), 'capacity', w.capacity, 'booked', w.booked) ORDER BY "
	    "w.starts_at) "
	    "     FROM agent_window w WHERE w.agent_id = a.id AND (w.starts_at AT TIME ZONE d.time_zone)::date = "
	    "s.day), '[]'))::text "
	    "FROM agent a JOIN district d ON d.id = a.district_id JOIN agent_shift s ON s.agent_id = a.id AND s.day = "
	    "$2::date "
	    "WHERE a.id = $1";
	const char *start = NULL, *end = NULL;
	double per = 0;
	const struct jv_field fields[] = {
	    JV_STR_OK("start", 1, 5, 5, clock_hhmm_valid, "must be a local time HH:MM", &start),
	    JV_STR("end", 1, 5, 5, &end),
	    JV_NUM("per_window", 1, 0, OFFICE_PER_WINDOW_MAX, &per, NULL),
	    JV_END,
	};
	struct jv v = {0};
	struct db_args shift = {0}, day = {0}, date = {0};
	enum db_status st;
	PGresult *agent = NULL, *res = NULL;

	if (!clock_date_valid(r->params[1])) {
		http_error_field(r, "date", "must be YYYY-MM-DD");
		return;
	}
	jv_check(&v, r->json, "", fields);
	if (!v.failed && (!clock_hhmm_valid(end) || strcmp(start, end) >= 0))
		jv_fail(&v, "", "end", "start and end are HH:MM local times, end after start");
	if (!v.failed && per != (double)(long)per)
		jv_fail(&v, "", "per_window", "must be a whole number");
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	if (office_agent_lock_or_reply(r, &agent) != 0)
		goto out;
	/* shift: $1 agent, $2 day, $3 start, $4 end, $5 per window; day: $1 agent, $2 day,
	 * $3 per window (the statements that need only the first two take day.v with 2). */
	db_arg_text(&shift, db_col(agent, 0, "id"));
	db_arg_text(&shift, r->params[1]);
	db_arg_text(&shift, start);
	db_arg_text(&shift, end);
	db_arg_ll(&shift, (long long)per);
	db_arg_text(&day, db_col(agent, 0, "id"));
	db_arg_text(&day, r->params[1]);
	db_arg_ll(&day, (long long)per);
	db_arg_text(&date, r->params[1]);
	st = db_run(q_upsert, shift.n, shift.v);
	if (st != DB_OK)
		goto db_fail;
	res = db_exec(q_booked_outside, 2, day.v, &st);
	if (st != DB_OK)
		goto db_fail;
	if (db_col_ll(res, 0, "windows") > 0) {
		http_error(r, 409, "capacity_below_booked", "visits are booked in windows outside the new shift");
		goto out;
	}
	PQclear(res);
	res = db_exec(q_below, day.n, day.v, &st);
	if (st != DB_OK)
		goto db_fail;
	if (db_col_ll(res, 0, "windows") > 0) {
		http_error(r, 409, "capacity_below_booked",
		           "more visits than %ld are already booked in a window of this day; reassign them first",
		           (long)per);
		goto out;
	}
	st = db_run(q_drop, 2, day.v);
	if (st == DB_OK)
		st = db_run(q_capacity, day.n, day.v);
	if (st == DB_OK)
		st = db_run(q_materialize, date.n, date.v);
	if (st == DB_OK)
		st = db_run(q_capacity, day.n, day.v);
	if (st == DB_OK)
		st = audit_request(r, db_col(agent, 0, "district_id"), "agent.shift", "agent", r->params[0], r->body);
	if (st == DB_OK)
		st = db_commit();
	if (st != DB_OK)
		goto db_fail;
	http_reply_query(r, q_reply, 2, day.v);
	goto out;
db_fail:
	http_error_db(r, st);
out:
	PQclear(agent);
	PQclear(res);
}
