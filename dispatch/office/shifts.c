#include "office/office.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/account.h"
#include "booking/booking.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "log.h"
#include "planner/plan.h"
#include "util.h"
#include "booking/visit.h"
/* ---- shifts ---- */

void office_shift_put(struct http_req *r)
{
	static const char *const fields[] = { "start", "end", "per_window", NULL };
	static const char q_upsert[] =
		"INSERT INTO agent_shift (agent_id, day, start_local, end_local, per_window) VALUES ($1, $2, $3, $4, $5) "
		"ON CONFLICT (agent_id, day) DO UPDATE SET start_local = $3, end_local = $4, per_window = $5";
	/* Windows of the day that the new shift no longer covers go, unless booked. */
	static const char q_booked_outside[] =
		"SELECT count(*) FROM agent_window w JOIN agent a ON a.id = w.agent_id JOIN district d ON d.id = a.district_id "
		"JOIN agent_shift s ON s.agent_id = a.id AND s.day = $2::date "
		"WHERE w.agent_id = $1 AND (w.starts_at AT TIME ZONE d.time_zone)::date = $2::date AND w.booked > 0 "
		"  AND ((w.starts_at AT TIME ZONE d.time_zone)::time < s.start_local OR (w.ends_at AT TIME ZONE d.time_zone)::time > s.end_local)";
	static const char q_drop[] =
		"DELETE FROM agent_window w USING agent a, district d, agent_shift s "
		"WHERE w.agent_id = $1 AND a.id = w.agent_id AND d.id = a.district_id AND s.agent_id = a.id AND s.day = $2::date "
		"  AND (w.starts_at AT TIME ZONE d.time_zone)::date = $2::date "
		"  AND ((w.starts_at AT TIME ZONE d.time_zone)::time < s.start_local OR (w.ends_at AT TIME ZONE d.time_zone)::time > s.end_local)";
	static const char q_below[] =
		"SELECT count(*) FROM agent_window w JOIN agent a ON a.id = w.agent_id JOIN district d ON d.id = a.district_id "
		"WHERE w.agent_id = $1 AND (w.starts_at AT TIME ZONE d.time_zone)::date = $2::date AND w.booked > $3::int";
	/* An agent marked unavailable that day keeps capacity = booked. */
	static const char q_capacity[] =
		"UPDATE agent_window w SET capacity = CASE WHEN EXISTS (SELECT 1 FROM agent_unavailable u WHERE u.agent_id = $1 "
		"                                                       AND u.day = $2::date) THEN w.booked ELSE $3::int END "
		"FROM agent a, district d WHERE w.agent_id = $1 AND a.id = w.agent_id AND d.id = a.district_id "
		"  AND (w.starts_at AT TIME ZONE d.time_zone)::date = $2::date";
	static const char q_materialize[] = "SELECT agent_windows_materialize($1::date, $1::date)";
	static const char q_reply[] =
		"SELECT jsonb_build_object('agent', a.code, 'date', s.day, 'start', to_char(s.start_local, 'HH24:MI'), "
		"  'end', to_char(s.end_local, 'HH24:MI'), 'per_window', s.per_window, "
		"  'windows', coalesce((SELECT jsonb_agg(jsonb_build_object('start', rfc3339(w.starts_at, d.time_zone), "
		"       'end', rfc3339(w.ends_at, d.time_zone), 'capacity', w.capacity, 'booked', w.booked) ORDER BY w.starts_at) "
		"     FROM agent_window w WHERE w.agent_id = a.id AND (w.starts_at AT TIME ZONE d.time_zone)::date = s.day), '[]'))::text "
		"FROM agent a JOIN district d ON d.id = a.district_id JOIN agent_shift s ON s.agent_id = a.id AND s.day = $2::date "
		"WHERE a.id = $1";
	struct jv v = { 0 };
	double per = 0;
	char sper[8];
	enum db_status st;
	PGresult *agent = NULL, *res = NULL;

	jv_only(&v, r->json, "", fields);
	const char *start = jv_string(&v, r->json, "", "start", 1, 5, 5);
	const char *end = jv_string(&v, r->json, "", "end", 1, 5, 5);
	jv_number(&v, r->json, "", "per_window", 1, 0, 50, &per);
	if (!v.failed && !clock_hhmm_valid(start))
		jv_fail(&v, "", "start", "must be a local time HH:MM");
	if (!v.failed && (!clock_hhmm_valid(end) || strcmp(start, end) >= 0))
		jv_fail(&v, "", "end", "start and end are HH:MM local times, end after start");
	if (!v.failed && per != (double)(long)per)
		jv_fail(&v, "", "per_window", "must be a whole number");
	if (!clock_date_valid(r->params[1])) {
		http_error_field(r, "date", "must be YYYY-MM-DD");
		return;
	}
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	snprintf(sper, sizeof sper, "%ld", (long)per);
	if ((st = db_begin()) != DB_OK) {
		http_error_db(r, st);
		return;
	}
	agent = office_agent_find(r, 1, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(agent) != 1) {
		http_error(r, 404, "not_found", "no agent with this code in your district");
		goto out;
	}
	const char *p[] = { db_get(agent, 0, 0), r->params[1], start, end, sper };
	const char *bp[] = { db_get(agent, 0, 0), r->params[1], sper };
	if ((st = db_run(q_upsert, 5, p)) != DB_OK)
		goto db_fail;
	res = db_exec(q_booked_outside, 2, p, &st);
	if (st != DB_OK)
		goto db_fail;
	if (db_get_ll(res, 0, 0) > 0) {
		http_error(r, 409, "capacity_below_booked", "visits are booked in windows outside the new shift");
		goto out;
	}
	PQclear(res);
	res = db_exec(q_below, 3, bp, &st);
	if (st != DB_OK)
		goto db_fail;
	if (db_get_ll(res, 0, 0) > 0) {
		http_error(r, 409, "capacity_below_booked",
			   "more visits than %s are already booked in a window of this day; reassign them first", sper);
		goto out;
	}
	const char *mp[] = { r->params[1] };
	if ((st = db_run(q_drop, 2, p)) != DB_OK || (st = db_run(q_capacity, 3, bp)) != DB_OK ||
	    (st = db_run(q_materialize, 1, mp)) != DB_OK || (st = db_run(q_capacity, 3, bp)) != DB_OK ||
	    (st = office_audit(r, db_get(agent, 0, 1), "agent.shift", "agent", r->params[0], r->body)) != DB_OK ||
	    (st = db_commit()) != DB_OK)
		goto db_fail;
	http_reply_query(r, q_reply, 2, p);
	goto out;
db_fail:
	http_error_db(r, st);
out:
	PQclear(agent);
	PQclear(res);
}

