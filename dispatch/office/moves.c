#include "office/office.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/account.h"
#include "audit.h"
#include "booking/booking.h"
#include "booking/booking_state.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "log.h"
#include "planner/plan.h"
#include "util.h"
#include "booking/visit.h"
/* ---- reassignment ---- */

enum office_outcome { OFFICE_MOVED, OFFICE_UNPLACED, OFFICE_FROZEN, OFFICE_GONE, OFFICE_NO_AGENT };

/* Moves one visit to another agent in its own transaction: takes a unit of the new agent
 * (`to_code`, or the nearest capable agent of the zone with a unit left in the same
 * window), gives the old unit back, records the change and tells the resident. Without a
 * unit (or, for a frozen visit, without `explicit_move`), flags the visit instead with
 * `flag`. *outcome says which; new_code receives the new agent's code. */
static enum db_status office_move_visit(struct http_req *r, const char *booking_id, const char *to_code,
				       int explicit_move, const char *flag, enum office_outcome *outcome,
				       char new_code[24])
{
	static const char q_lock[] =
		"SELECT b.id, b.status, b.agent_id, b.zone_id, "
		"       to_char(b.window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), b.service_code, "
		"       s.department, ST_Y(b.location), ST_X(b.location), b.district_id, b.reference, "
		"       (b.window_start AT TIME ZONE d.time_zone)::date "
		"FROM booking b JOIN service s ON s.code = b.service_code JOIN district d ON d.id = b.district_id "
		"WHERE b.id = $1 AND b.status IN ('booked', 'assigned') FOR UPDATE OF b";
	static const char q_take_named[] =
		"UPDATE agent_window w SET booked = w.booked + 1 FROM agent a "
		" WHERE a.id = w.agent_id AND a.code = $1 AND a.district_id = $2 AND a.active AND a.id <> $5 "
		"   AND w.starts_at = $3 AND w.booked < w.capacity AND a.skills && ARRAY[$4, $6, '*'] "
		"   AND NOT EXISTS (SELECT 1 FROM agent_unavailable u WHERE u.agent_id = a.id AND u.day = $7::date) "
		"RETURNING w.agent_id";
	static const char q_release[] =
		"UPDATE agent_window w SET booked = w.booked - 1, capacity = w.capacity - CASE WHEN EXISTS (SELECT 1 "
		"    FROM agent_unavailable u WHERE u.agent_id = w.agent_id AND u.day = $3::date) THEN 1 ELSE 0 END "
		"WHERE w.agent_id = $1 AND w.starts_at = $2";
	static const char q_move[] =
		"UPDATE booking SET agent_id = $2, route_order = NULL, planned_arrival = NULL, needs_attention = NULL, "
		"  attention_at = NULL, updated_at = $3 WHERE id = $1 RETURNING (SELECT code FROM agent WHERE id = $2)";
	static const char q_flag[] =
		"UPDATE booking SET needs_attention = $2, attention_at = $3, updated_at = $3 WHERE id = $1";
	static const char q_record[] =
		"WITH e AS (INSERT INTO booking_event (booking_id, district_id, action, from_status, to_status, actor_role, "
		"                                      actor_id, at, note) "
		"           VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8) RETURNING id) "
		"INSERT INTO audit_log (district_id, at, actor_role, actor_id, action, object_type, object_ref, detail) "
		"SELECT $2, $7, $5, $6, 'booking.' || $3, 'booking', $9, jsonb_build_object('event', e.id, 'note', $8::text) FROM e";
	static const char q_notify[] =
		"SELECT booking_notify($1, 'reassigned', $2, (SELECT name FROM agent WHERE id = $3), 'to:' || $3 || ':' || $4)";
	/* A frozen visit was announced with its agent and code: the new agent gets a new code,
	 * and the resident is told both (the old code must not open the door any more). */
	static const char q_recode[] = "UPDATE booking SET visit_code_hash = decode($2, 'hex') WHERE id = $1";
	static const char q_notify_frozen[] =
		"SELECT booking_notify_ex($1, 'booking_reassigned', $2, NULL, 'to:' || $3 || ':' || $4, "
		"                         jsonb_build_object('code', $5::text))";
	char now[40], actor[24], note[160], stamp[24], new_id[16] = "", code[VISIT_CODE_DIGITS + 1], hash[65];
	enum db_status st;
	PGresult *b = NULL, *res = NULL;

	*outcome = OFFICE_GONE;
	new_code[0] = '\0';
	clock_now_text(now, sizeof now);
	snprintf(actor, sizeof actor, "%lld", r->auth.id);
	snprintf(stamp, sizeof stamp, "%lld", (long long)clock_now_us());
	if ((st = db_begin()) != DB_OK)
		return st;
	const char *lp[] = { booking_id };
	b = db_exec(q_lock, 1, lp, &st);
	if (st != DB_OK || PQntuples(b) != 1)
		goto out; /* cancelled or moved on meanwhile: nothing to do */
	const char *status = db_get(b, 0, 1);
	int frozen = strcmp(status, "assigned") == 0;
	if (!frozen || explicit_move) {
		if (to_code) {
			const char *tp[] = { to_code, db_get(b, 0, 9), db_get(b, 0, 4), db_get(b, 0, 5), db_get(b, 0, 2),
					     db_get(b, 0, 6), db_get(b, 0, 11) };
			res = db_exec(q_take_named, 7, tp, &st);
		} else {
			char window_end[40];
			int taken = 0;
			st = booking_take_unit(db_get(b, 0, 3), db_get(b, 0, 4), db_get(b, 0, 5), db_get(b, 0, 6),
					       db_get(b, 0, 7), db_get(b, 0, 8), db_get(b, 0, 2), &taken, new_id,
					       window_end);
			if (!taken)
				new_id[0] = '\0';
		}
		if (st != DB_OK)
			goto out;
		if (res && PQntuples(res) == 1)
			snprintf(new_id, sizeof new_id, "%s", db_get(res, 0, 0));
		PQclear(res);
		res = NULL;
	}
	if (new_id[0]) {
		const char *rp[] = { db_get(b, 0, 2), db_get(b, 0, 4), db_get(b, 0, 11) };
		const char *mp[] = { booking_id, new_id, now };
		if ((st = db_run(q_release, 3, rp)) != DB_OK)
			goto out;
		res = db_exec(q_move, 3, mp, &st);
		if (st != DB_OK)
			goto out;
		snprintf(new_code, 24, "%s", db_get(res, 0, 0));
		snprintf(note, sizeof note, "agent changed to %s", new_code);
		const char *ep[] = { booking_id, db_get(b, 0, 9), "reassigned", status, auth_role_name(r->auth.role), actor,
				     now, note, db_get(b, 0, 10) };
		if ((st = db_run(q_record, 9, ep)) != DB_OK)
			goto out;
		if (frozen) {
			if (visit_code_new(db_get(b, 0, 10), code, hash) != 0) {
				st = DB_FAILED;
				goto out;
			}
			const char *cp[] = { booking_id, hash };
			const char *np[] = { booking_id, now, new_id, stamp, code };
			if ((st = db_run(q_recode, 2, cp)) != DB_OK || (st = db_run(q_notify_frozen, 5, np)) != DB_OK)
				goto out;
		} else {
			const char *np[] = { booking_id, now, new_id, stamp };
			if ((st = db_run(q_notify, 4, np)) != DB_OK)
				goto out;
		}
		*outcome = OFFICE_MOVED;
	} else if (explicit_move) {
		*outcome = OFFICE_NO_AGENT; /* the officer's move found no unit: nothing changes */
		goto out;
	} else {
		const char *fp[] = { booking_id, frozen ? "frozen_agent_unavailable" : flag, now };
		snprintf(note, sizeof note, "needs attention: %s", fp[1]);
		const char *ep[] = { booking_id, db_get(b, 0, 9), "needs_attention", status, auth_role_name(r->auth.role),
				     actor, now, note, db_get(b, 0, 10) };
		if ((st = db_run(q_flag, 3, fp)) != DB_OK || (st = db_run(q_record, 9, ep)) != DB_OK)
			goto out;
		*outcome = frozen ? OFFICE_FROZEN : OFFICE_UNPLACED;
	}
	st = db_commit();
out:
	if (st != DB_OK || *outcome == OFFICE_GONE || *outcome == OFFICE_NO_AGENT)
		db_rollback();
	PQclear(b);
	PQclear(res);
	return st;
}

void office_agent_unavailable(struct http_req *r)
{
	static const char *const fields[] = { "date", "reason", NULL };
	static const char q_mark[] =
		"INSERT INTO agent_unavailable (agent_id, day, district_id, reason, created_by, created_at) "
		"VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (agent_id, day) DO UPDATE SET reason = EXCLUDED.reason";
	/* No new booking lands on the agent that day; units given back later shrink it too. */
	static const char q_close[] =
		"UPDATE agent_window w SET capacity = w.booked FROM agent a, district d "
		"WHERE w.agent_id = $1 AND a.id = w.agent_id AND d.id = a.district_id "
		"  AND (w.starts_at AT TIME ZONE d.time_zone)::date = $2::date";
	static const char q_visits[] =
		"SELECT b.id, b.reference FROM booking b JOIN district d ON d.id = b.district_id "
		"WHERE b.agent_id = $1 AND b.status IN ('booked', 'assigned') "
		"  AND (b.window_start AT TIME ZONE d.time_zone)::date = $2::date ORDER BY b.window_start, b.id";
	struct jv v = { 0 };
	char now[40], actor[24], detail[400];
	enum db_status st;
	PGresult *agent = NULL, *visits = NULL;
	json_t *moved = NULL, *unplaced = NULL, *frozen = NULL;

	jv_only(&v, r->json, "", fields);
	const char *day = jv_string(&v, r->json, "", "date", 1, 10, 10);
	if (!v.failed && !clock_date_valid(day))
		jv_fail(&v, "", "date", "must be YYYY-MM-DD");
	const char *reason = jv_string(&v, r->json, "", "reason", 1, 1, 200);
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	clock_now_text(now, sizeof now);
	snprintf(actor, sizeof actor, "%lld", r->auth.id);
	if ((st = db_begin()) != DB_OK)
		goto db_fail;
	agent = office_agent_find(r, 1, &st);
	if (st != DB_OK)
		goto db_fail;
	if (PQntuples(agent) != 1) {
		http_error(r, 404, "not_found", "no agent with this code in your district");
		goto out;
	}
	const char *mp[] = { db_get(agent, 0, 0), day, db_get(agent, 0, 1), reason, actor, now };
	json_t *d = json_pack("{s:s, s:s}", "date", day, "reason", reason);
	char *dtext = json_dumps(d, JSON_COMPACT);
	snprintf(detail, sizeof detail, "%s", dtext ? dtext : "{}");
	free(dtext);
	json_decref(d);
	if ((st = db_run(q_mark, 6, mp)) != DB_OK || (st = db_run(q_close, 2, mp)) != DB_OK ||
	    (st = audit_request(r, db_get(agent, 0, 1), "agent.unavailable", "agent", r->params[0], detail)) != DB_OK ||
	    (st = db_commit()) != DB_OK)
		goto db_fail;
	visits = db_exec(q_visits, 2, mp, &st);
	if (st != DB_OK)
		goto db_fail;
	moved = json_array();
	unplaced = json_array();
	frozen = json_array();
	/* One transaction per visit: a visit that cannot move keeps its unit and is flagged. */
	for (int i = 0; i < PQntuples(visits); i++) {
		enum office_outcome outcome;
		char to[24];
		for (int tries = 0; tries < 3; tries++)
			if ((st = office_move_visit(r, db_get(visits, i, 0), NULL, 0, "agent_unavailable", &outcome, to)) !=
			    DB_RETRY)
				break;
		if (st != DB_OK)
			goto db_fail;
		const char *ref = db_get(visits, i, 1);
		if (outcome == OFFICE_MOVED)
			json_array_append_new(moved, json_pack("{s:s, s:s, s:s}", "reference", ref, "from", r->params[0], "to", to));
		else if (outcome == OFFICE_UNPLACED)
			json_array_append_new(unplaced, json_string(ref));
		else if (outcome == OFFICE_FROZEN)
			json_array_append_new(frozen, json_string(ref));
	}
	http_reply_json(r, 200, json_pack("{s:s, s:s, s:s, s:O, s:O, s:O}", "agent", r->params[0], "date", day, "reason",
					  reason, "moved", moved, "unplaced", unplaced, "frozen", frozen));
	goto out;
db_fail:
	db_rollback();
	http_error_db(r, st);
out:
	json_decref(moved);
	json_decref(unplaced);
	json_decref(frozen);
	PQclear(agent);
	PQclear(visits);
}

void office_reassign(struct http_req *r)
{
	static const char *const fields[] = { "agent", NULL };
	static const char q_find[] =
		"SELECT b.id FROM booking b WHERE b.reference = $1 AND ($2::int = 0 OR b.district_id = $2::int)";
	static const char q_reply[] =
		"SELECT (booking_json(b, 'en') || jsonb_build_object('agent', jsonb_build_object('code', a.code, 'name', a.name), "
		"        'needs_attention', b.needs_attention))::text FROM booking b JOIN agent a ON a.id = b.agent_id WHERE b.id = $1";
	struct jv v = { 0 };
	char actor[24], district[24], to[24], id[24];
	enum office_outcome outcome = OFFICE_GONE;
	enum db_status st;
	PGresult *res = NULL;

	if (r->json) {
		jv_only(&v, r->json, "", fields);
		(void)jv_string(&v, r->json, "", "agent", 0, 2, 24);
	}
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	const char *agent = r->json ? jv_string(&v, r->json, "", "agent", 0, 2, 24) : NULL;
	office_ids(r, actor, district);
	const char *p[] = { r->params[0], district };
	res = db_exec(q_find, 2, p, &st);
	if (st != DB_OK)
		goto db_fail;
	if (PQntuples(res) != 1) {
		http_error(r, 404, "not_found", "no booking with this reference in your district");
		goto out;
	}
	snprintf(id, sizeof id, "%s", db_get(res, 0, 0));
	PQclear(res);
	res = NULL;
	for (int tries = 0; tries < 3; tries++)
		if ((st = office_move_visit(r, id, agent, 1, "agent_unavailable", &outcome, to)) != DB_RETRY)
			break;
	if (st != DB_OK)
		goto db_fail;
	if (outcome == OFFICE_GONE) {
		http_error(r, 409, "wrong_state", "only a booked or assigned visit can be reassigned");
		goto out;
	}
	if (outcome == OFFICE_NO_AGENT) {
		http_error(r, 409, "agent_full",
			   agent ? "that agent cannot take this visit: not active, not skilled for it, off that day, or no "
				   "unit left in its window"
				 : "no capable agent of the zone has a unit left in this window");
		goto out;
	}
	const char *rp[] = { id };
	res = db_exec(q_reply, 1, rp, &st);
	if (st != DB_OK)
		goto db_fail;
	http_reply_json_text(r, outcome == OFFICE_MOVED ? 200 : 409, db_get(res, 0, 0));
	goto out;
db_fail:
	http_error_db(r, st);
out:
	PQclear(res);
}

/* The office's steps after the visit: the application was submitted to the department, the
 * certificate is ready, it was delivered, or the department rejected it. The change is
 * recorded like every other, and the event's trigger texts the resident. */
void office_booking_status(struct http_req *r)
{
	static const char *const fields[] = { "status", "note", NULL };
	static const char *const office_statuses[] = { "submitted", "certificate_ready", "delivered", "rejected", NULL };
	static const char q_lock[] =
		"SELECT b.id, b.status, b.district_id FROM booking b "
		"WHERE b.reference = $1 AND ($2::int = 0 OR b.district_id = $2::int) FOR UPDATE";
	static const char q_update[] = "UPDATE booking SET status = $2, updated_at = $3 WHERE id = $1";
	static const char q_reply[] = "SELECT booking_json(b, 'en')::text FROM booking b WHERE b.id = $1";
	struct jv v = { 0 };
	char actor[24], district[24], now[40], id[24];
	enum db_status st;
	PGresult *b = NULL, *res = NULL;
	int known = 0;

	jv_only(&v, r->json, "", fields);
	const char *status = jv_string(&v, r->json, "", "status", 1, 1, 40);
	const char *note = jv_string(&v, r->json, "", "note", 0, 0, 500);
	for (int i = 0; status && office_statuses[i]; i++)
		known |= strcmp(status, office_statuses[i]) == 0;
	if (!v.failed && !known)
		jv_fail(&v, "", "status", "must be one of submitted, certificate_ready, delivered, rejected");
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	office_ids(r, actor, district);
	clock_now_text(now, sizeof now);
	if ((st = db_begin()) != DB_OK)
		goto db_fail;
	const char *lp[] = { r->params[0], district };
	b = db_exec(q_lock, 2, lp, &st);
	if (st != DB_OK)
		goto db_fail;
	if (PQntuples(b) != 1) {
		http_error(r, 404, "not_found", "no booking with this reference in your district");
		goto out;
	}
	snprintf(id, sizeof id, "%s", db_get(b, 0, 0));
	const char *from = db_get(b, 0, 1);
	if (strcmp(from, status) != 0) { /* a repeat changes nothing */
		if (!booking_state_allowed(from, status)) {
			http_error(r, 409, "wrong_state", "a booking that is %s cannot become %s", from, status);
			goto out;
		}
		const char *up[] = { id, status, now };
		if ((st = db_run(q_update, 3, up)) != DB_OK ||
		    (st = booking_record(r, id, db_get(b, 0, 2), r->params[0], "status", from, status, now, note)) != DB_OK ||
		    (st = db_commit()) != DB_OK)
			goto db_fail;
		log_info("booking %s: %s -> %s by the office", r->params[0], from, status);
	}
	const char *rp[] = { id };
	http_reply_query(r, q_reply, 1, rp);
	goto out;
db_fail:
	http_error_db(r, st);
out:
	db_rollback();
	PQclear(b);
	PQclear(res);
}

void office_unplaced(struct http_req *r)
{
	static const char sql[] =
		"SELECT coalesce(jsonb_agg(jsonb_build_object('reference', b.reference, 'status', b.status, "
		"  'needs_attention', b.needs_attention, 'since', rfc3339(b.attention_at, d.time_zone), 'zone', z.code, "
		"  'agent', a.code, 'service', b.service_code, "
		"  'window', jsonb_build_object('start', rfc3339(b.window_start, d.time_zone), 'end', rfc3339(b.window_end, d.time_zone))) "
		"  ORDER BY b.window_start, b.id), '[]')::text "
		"FROM booking b JOIN district d ON d.id = b.district_id JOIN zone z ON z.id = b.zone_id "
		"LEFT JOIN agent a ON a.id = b.agent_id "
		"WHERE b.needs_attention IS NOT NULL AND b.status IN ('booked', 'assigned') "
		"  AND ($1::int = 0 OR b.district_id = $1::int) "
		"  AND ($2::date IS NULL OR (b.window_start AT TIME ZONE d.time_zone)::date = $2::date)";
	char actor[24], district[24], day[16];
	int has_day = http_query(r, "date", day, sizeof day);
	if (has_day && (has_day < 0 || !clock_date_valid(day))) {
		http_error_field(r, "date", "must be YYYY-MM-DD");
		return;
	}
	office_ids(r, actor, district);
	const char *p[] = { district, has_day ? day : NULL };
	http_reply_query(r, sql, 2, p);
}

