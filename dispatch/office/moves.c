#include "office/office.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "booking/booking.h"
#include "booking/change.h"
#include "clock.h"
#include "log.h"
#include "util.h"

/* ---- reassignment ---- */

enum office_outcome { OFFICE_MOVED, OFFICE_UNPLACED, OFFICE_FROZEN, OFFICE_GONE, OFFICE_NO_AGENT };

#define OFFICE_MOVE_TRIES 3 /* a move that meets a deadlock or serialization failure is tried again */

/* Takes a unit for the visit `b` in the same window: of the agent `to_code`, or of the
 * nearest capable agent of the zone other than its own. new_id[0] is '\0' when none. */
static enum db_status office_take_unit(PGresult *b, const char *to_code, char new_id[16])
{
	static const char q_take_named[] =
	    "UPDATE agent_window w SET booked = w.booked + 1 FROM agent a "
	    " WHERE a.id = w.agent_id AND a.code = $1 AND a.district_id = $2 AND a.active AND a.id <> $5 "
	    "   AND w.starts_at = $3 AND w.booked < w.capacity AND a.skills && ARRAY[$4, $6, '*'] "
	    "   AND NOT EXISTS (SELECT 1 FROM agent_unavailable u WHERE u.agent_id = a.id AND u.day = $7::date) "
	    "RETURNING w.agent_id";
	char window_end[40];
	int taken = 0;
	enum db_status st;

	new_id[0] = '\0';
	if (!to_code) {
		st = booking_take_unit(db_col(b, 0, "zone_id"), db_col(b, 0, "window_start"),
		                       db_col(b, 0, "service_code"), db_col(b, 0, "department"), db_col(b, 0, "lat"),
		                       db_col(b, 0, "lon"), db_col(b, 0, "agent_id"), &taken, new_id, window_end);
		if (!taken)
			new_id[0] = '\0';
		return st;
	}
	const char *p[] = {to_code,
	                   db_col(b, 0, "district_id"),
	                   db_col(b, 0, "window_start"),
	                   db_col(b, 0, "service_code"),
	                   db_col(b, 0, "agent_id"),
	                   db_col(b, 0, "department"),
	                   db_col(b, 0, "day")};
	PGresult *res = db_exec(q_take_named, 7, p, &st);
	if (st == DB_OK && PQntuples(res) == 1)
		snprintf(new_id, 16, "%s", db_get(res, 0, 0));
	PQclear(res);
	return st;
}

/* Moves one visit to another agent in its own transaction: takes a unit of the new agent
 * (`to_code`, or the nearest capable agent of the zone with a unit left in the same
 * window) and carries out the reassignment (the old unit goes back, the resident of a
 * frozen visit gets a new code). Without a unit (or, for a frozen visit, without
 * `explicit_move`), flags the visit instead with `flag`. *outcome says which; new_code
 * receives the new agent's code. */
static enum db_status office_move_visit(struct http_req *r, const char *booking_id, const char *to_code,
                                        int explicit_move, const char *flag, enum office_outcome *outcome,
                                        char new_code[24])
{
	static const char q_lock[] =
	    "SELECT b.id, b.reference, b.status, b.agent_id, b.zone_id, b.district_id, b.service_code, s.department, "
	    "       to_char(b.window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS window_start, "
	    "       ST_Y(b.location) AS lat, ST_X(b.location) AS lon, (b.window_start AT TIME ZONE d.time_zone)::date "
	    "AS day "
	    "FROM booking b JOIN service s ON s.code = b.service_code JOIN district d ON d.id = b.district_id "
	    "WHERE b.id = $1 AND b.status IN ('booked', 'assigned') FOR UPDATE OF b";
	static const char q_code[] = "SELECT code FROM agent WHERE id = $1";
	const struct booking_transition *t;
	struct booking_change c = {0};
	char now[40], note[160], dedupe[48], new_id[16] = "";
	enum db_status st;
	PGresult *b = NULL, *res = NULL;

	*outcome = OFFICE_GONE;
	new_code[0] = '\0';
	clock_now_text(now, sizeof now);
	st = db_begin();
	if (st != DB_OK)
		return st;
	const char *lp[] = {booking_id};
	b = db_exec(q_lock, 1, lp, &st);
	if (st != DB_OK || PQntuples(b) != 1)
		goto out; /* cancelled or moved on meanwhile: nothing to do */
	const char *status = db_col(b, 0, "status");
	int frozen = strcmp(status, "assigned") == 0;
	if (!frozen || explicit_move) {
		st = office_take_unit(b, to_code, new_id);
		if (st != DB_OK)
			goto out;
	}
	c.booking_id = booking_id;
	c.reference = db_col(b, 0, "reference");
	c.from = status;
	c.role = r->auth.role;
	c.actor = r->auth.id;
	c.now = now;
	c.note = note;
	c.unit_agent = db_col(b, 0, "agent_id");
	c.unit_start = db_col(b, 0, "window_start");
	if (new_id[0]) {
		const char *cp[] = {new_id};
		res = db_exec(q_code, 1, cp, &st);
		if (st != DB_OK)
			goto out;
		snprintf(new_code, 24, "%s", db_get(res, 0, 0));
		snprintf(note, sizeof note, "agent changed to %s", new_code);
		snprintf(dedupe, sizeof dedupe, "to:%s:%lld", new_id, (long long)clock_now_us());
		c.new_agent = new_id;
		c.sms_dedupe = dedupe;
		t = booking_transition_find(BOOKING_REASSIGN, status, NULL);
		*outcome = OFFICE_MOVED;
	} else if (explicit_move) {
		*outcome = OFFICE_NO_AGENT; /* the officer's move found no unit: nothing changes */
		goto out;
	} else {
		c.attention = frozen ? "frozen_agent_unavailable" : flag;
		snprintf(note, sizeof note, "needs attention: %s", c.attention);
		t = booking_transition_find(BOOKING_FLAG, status, NULL);
		*outcome = frozen ? OFFICE_FROZEN : OFFICE_UNPLACED;
	}
	st = booking_change_apply(t, &c);
	if (st == DB_OK)
		st = db_commit();
out:
	if (st != DB_OK || *outcome == OFFICE_GONE || *outcome == OFFICE_NO_AGENT)
		db_rollback();
	PQclear(b);
	PQclear(res);
	return st;
}

/* Marks the agent off for a day, closes their windows to new bookings, and moves each of
 * their visits of that day in a transaction of its own. The reply says what became of
 * every visit: moved, flagged for the office (unplaced, or frozen with its code sent), or
 * not handled because its move failed — the day off itself is committed first. */
void office_agent_unavailable(struct http_req *r)
{
	static const char q_mark[] =
	    "INSERT INTO agent_unavailable (agent_id, day, district_id, reason, created_by, created_at) "
	    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (agent_id, day) DO UPDATE SET reason = EXCLUDED.reason";
	/* No new booking lands on the agent that day; units given back later shrink it too. */
	static const char q_close[] = "UPDATE agent_window w SET capacity = w.booked FROM agent a, district d "
	                              "WHERE w.agent_id = $1 AND a.id = w.agent_id AND d.id = a.district_id "
	                              "  AND (w.starts_at AT TIME ZONE d.time_zone)::date = $2::date";
	static const char q_visits[] =
	    "SELECT b.id, b.reference FROM booking b JOIN district d ON d.id = b.district_id "
	    "WHERE b.agent_id = $1 AND b.status IN ('booked', 'assigned') "
	    "  AND (b.window_start AT TIME ZONE d.time_zone)::date = $2::date ORDER BY b.window_start, b.id";
	const char *day = NULL, *reason = NULL;
	const struct jv_field body[] = {
	    JV_STR_OK("date", 1, 10, 10, clock_date_valid, "must be YYYY-MM-DD", &day),
	    JV_STR("reason", 1, 1, 200, &reason),
	    JV_END,
	};
	struct db_args a = {0};
	char now[40], *detail = NULL;
	enum db_status st;
	PGresult *agent = NULL, *visits = NULL;
	json_t *moved = NULL, *unplaced = NULL, *frozen = NULL, *failed = NULL;

	if (jv_check_or_reply(r, body) != 0)
		return;
	clock_now_text(now, sizeof now);
	if (office_agent_lock_or_reply(r, &agent) != 0)
		goto out;
	db_arg_text(&a, db_get(agent, 0, 0));
	db_arg_text(&a, day);
	db_arg_text(&a, db_get(agent, 0, 1));
	db_arg_text(&a, reason);
	db_arg_ll(&a, r->auth.id);
	db_arg_text(&a, now);
	json_t *d = json_pack("{s:s, s:s}", "date", day, "reason", reason);
	detail = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	st = db_run(q_mark, a.n, a.v);
	if (st == DB_OK)
		st = db_run(q_close, 2, a.v);
	if (st == DB_OK)
		st = audit_request(r, db_get(agent, 0, 1), "agent.unavailable", "agent", r->params[0], detail);
	if (st == DB_OK)
		st = db_commit();
	if (st != DB_OK)
		goto db_fail;
	visits = db_exec(q_visits, 2, a.v, &st);
	moved = json_array();
	unplaced = json_array();
	frozen = json_array();
	failed = json_array();
	/* One transaction per visit: a visit that cannot move keeps its unit and is flagged; one
	 * whose move failed stays as it was and is said so. */
	for (int i = 0; st == DB_OK && i < PQntuples(visits); i++) {
		enum office_outcome outcome = OFFICE_GONE;
		enum db_status move = DB_RETRY;
		char to[24];
		for (int tries = 0; tries < OFFICE_MOVE_TRIES && move == DB_RETRY; tries++)
			move = office_move_visit(r, db_get(visits, i, 0), NULL, 0, "agent_unavailable", &outcome, to);
		const char *ref = db_get(visits, i, 1);
		if (move != DB_OK) {
			log_error("agent %s unavailable: visit %s not moved (database status %d)", r->params[0], ref,
			          move);
			json_array_append_new(failed, json_string(ref));
		} else if (outcome == OFFICE_MOVED) {
			json_array_append_new(
			    moved, json_pack("{s:s, s:s, s:s}", "reference", ref, "from", r->params[0], "to", to));
		} else if (outcome == OFFICE_UNPLACED) {
			json_array_append_new(unplaced, json_string(ref));
		} else if (outcome == OFFICE_FROZEN) {
			json_array_append_new(frozen, json_string(ref));
		}
	}
	if (st != DB_OK) {
		/* The day off is marked; the list of its visits could not be read. */
		log_error("agent %s unavailable: the day's visits could not be read (database status %d)", r->params[0],
		          st);
	}
	http_reply_json(r, 200,
	                json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:O, s:b}", "agent", r->params[0], "date", day,
	                          "reason", reason, "moved", moved, "unplaced", unplaced, "frozen", frozen, "not_moved",
	                          failed, "complete", st == DB_OK && json_array_size(failed) == 0));
	goto out;
db_fail:
	db_rollback();
	http_error_db(r, st);
out:
	db_rollback(); /* no-op after the commit */
	free(detail);
	json_decref(moved);
	json_decref(unplaced);
	json_decref(frozen);
	json_decref(failed);
	PQclear(agent);
	PQclear(visits);
}

void office_reassign(struct http_req *r)
{
	static const char q_find[] =
	    "SELECT b.id FROM booking b WHERE b.reference = $1 AND ($2::int = 0 OR b.district_id = $2::int)";
	static const char q_reply[] = "SELECT (booking_json(b, 'en') || jsonb_build_object('agent', "
	                              "jsonb_build_object('code', a.code, 'name', a.name), "
	                              "        'needs_attention', b.needs_attention))::text FROM booking b JOIN agent "
	                              "a ON a.id = b.agent_id WHERE b.id = $1";
	const char *agent = NULL;
	const struct jv_field body[] = {JV_STR("agent", 0, 2, 24, &agent), JV_END};
	struct db_args a = {0};
	char to[24], id[24];
	enum office_outcome outcome = OFFICE_GONE;
	enum db_status st = DB_RETRY;
	PGresult *res = NULL;

	if (jv_check_or_reply(r, body) != 0)
		return;
	db_arg_text(&a, r->params[0]);
	db_arg_ll(&a, r->auth.district_id);
	res = db_exec(q_find, a.n, a.v, &st);
	if (st != DB_OK)
		goto db_fail;
	if (PQntuples(res) != 1) {
		http_error(r, 404, "not_found", "no booking with this reference in your district");
		goto out;
	}
	snprintf(id, sizeof id, "%s", db_get(res, 0, 0));
	PQclear(res);
	res = NULL;
	st = DB_RETRY;
	for (int tries = 0; tries < OFFICE_MOVE_TRIES && st == DB_RETRY; tries++)
		st = office_move_visit(r, id, agent, 1, "agent_unavailable", &outcome, to);
	if (st != DB_OK)
		goto db_fail;
	if (outcome == OFFICE_GONE) {
		http_error(r, 409, "wrong_state", "only a booked or assigned visit can be reassigned");
		goto out;
	}
	if (outcome == OFFICE_NO_AGENT) {
		http_error(
		    r, 409, "agent_full",
		    agent ? "that agent cannot take this visit: not active, not skilled for it, off that day, or no "
		            "unit left in its window"
		          : "no capable agent of the zone has a unit left in this window");
		goto out;
	}
	const char *rp[] = {id};
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

void office_unplaced(struct http_req *r)
{
	static const char sql[] =
	    "SELECT coalesce(jsonb_agg(jsonb_build_object('reference', b.reference, 'status', b.status, "
	    "  'needs_attention', b.needs_attention, 'since', rfc3339(b.attention_at, d.time_zone), 'zone', z.code, "
	    "  'agent', a.code, 'service', b.service_code, "
	    "  'window', jsonb_build_object('start', rfc3339(b.window_start, d.time_zone), 'end', "
	    "rfc3339(b.window_end, d.time_zone))) "
	    "  ORDER BY b.window_start, b.id), '[]')::text "
	    "FROM booking b JOIN district d ON d.id = b.district_id JOIN zone z ON z.id = b.zone_id "
	    "LEFT JOIN agent a ON a.id = b.agent_id "
	    "WHERE b.needs_attention IS NOT NULL AND b.status IN ('booked', 'assigned') "
	    "  AND ($1::int = 0 OR b.district_id = $1::int) "
	    "  AND ($2::date IS NULL OR (b.window_start AT TIME ZONE d.time_zone)::date = $2::date)";
	struct db_args a = {0};
	char day[16];
	int has_day = http_query(r, "date", day, sizeof day);
	if (has_day && (has_day < 0 || !clock_date_valid(day))) {
		http_error_field(r, "date", "must be YYYY-MM-DD");
		return;
	}
	db_arg_ll(&a, r->auth.district_id);
	db_arg_text(&a, has_day ? day : NULL);
	http_reply_query(r, sql, a.n, a.v);
}
