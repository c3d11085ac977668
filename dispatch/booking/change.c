#include "booking/change.h"

#include <stdio.h>
#include <string.h>

#define BY_OWNER  (ROLE_RESIDENT | ROLE_OPERATOR | ROLE_OFFICER | ROLE_ADMIN)
#define BY_OFFICE (ROLE_OFFICER | ROLE_ADMIN)
#define BY_AGENT  ROLE_AGENT
#define BY_SYSTEM BOOKING_BY_SYSTEM

#define RELEASES BOOKING_RELEASES_UNIT
#define RENEWS   BOOKING_RENEWS_CODE
#define UNROUTES BOOKING_CLEARS_ROUTE
#define BEFORE   BOOKING_BEFORE_WINDOW
#define TODAY    BOOKING_ON_VISIT_DAY

/* Every change a booking can go through. A visit keeps its unit to the end: the agent's time
 * in that window is spent whether the visit completed, failed or found nobody at home; only
 * cancelling gives it back, and a reschedule or a reassignment moves it. The agent's steps
 * text a message of their own (with the tracking link); the office's the generic status
 * message ('booking_status', once per event). */
static const struct booking_transition booking_table[] = {
    /* kind, from, to, action, sms, effects, roles */
    {BOOKING_CREATE, NULL, "booked", "created", "booking_confirmed", 0, ROLE_RESIDENT | ROLE_OPERATOR},

    {BOOKING_CANCEL, "booked", "cancelled", "cancelled", "booking_cancelled", RELEASES | BEFORE, BY_OWNER},
    {BOOKING_CANCEL, "assigned", "cancelled", "cancelled", "booking_cancelled", RELEASES | BEFORE, BY_OWNER},
    {BOOKING_RESCHEDULE, "booked", "booked", "rescheduled", "booking_rescheduled", RELEASES | UNROUTES | BEFORE,
     BY_OWNER},
    {BOOKING_RESCHEDULE, "assigned", "booked", "rescheduled", "booking_rescheduled", RELEASES | UNROUTES | BEFORE,
     BY_OWNER},

    {BOOKING_FREEZE, "booked", "assigned", "assigned", "visit_day", RENEWS, BY_SYSTEM},

    {BOOKING_AGENT_STEP, "assigned", "en_route", "status", "status_en_route", TODAY, BY_AGENT},
    {BOOKING_AGENT_STEP, "assigned", "no_show", "status", "status_no_show", 0, BY_AGENT},
    {BOOKING_AGENT_STEP, "assigned", "failed", "status", "status_failed", 0, BY_AGENT},
    {BOOKING_AGENT_STEP, "en_route", "arrived", "status", "status_arrived", TODAY | BOOKING_NEEDS_CODE, BY_AGENT},
    {BOOKING_AGENT_STEP, "en_route", "no_show", "status", "status_no_show", 0, BY_AGENT},
    {BOOKING_AGENT_STEP, "en_route", "failed", "status", "status_failed", 0, BY_AGENT},
    {BOOKING_AGENT_STEP, "arrived", "documents_collected", "status", "status_documents_collected", 0, BY_AGENT},
    {BOOKING_AGENT_STEP, "arrived", "failed", "status", "status_failed", 0, BY_AGENT},
    {BOOKING_AGENT_STEP, "documents_collected", "completed", "status", "status_completed", 0, BY_AGENT},

    {BOOKING_OFFICE_STEP, "arrived", "rejected", "status", "booking_status", 0, BY_OFFICE},
    {BOOKING_OFFICE_STEP, "documents_collected", "submitted", "status", "booking_status", 0, BY_OFFICE},
    {BOOKING_OFFICE_STEP, "completed", "submitted", "status", "booking_status", 0, BY_OFFICE},
    {BOOKING_OFFICE_STEP, "submitted", "certificate_ready", "status", "booking_status", 0, BY_OFFICE},
    {BOOKING_OFFICE_STEP, "submitted", "rejected", "status", "booking_status", 0, BY_OFFICE},
    {BOOKING_OFFICE_STEP, "certificate_ready", "delivered", "status", "booking_status", 0, BY_OFFICE},

    /* The resident is told of the new agent. A frozen visit was announced with its agent and
     * code: the new agent gets a new code, and the resident is told both (the old code must
     * not open the door any more). The planner's moves before the visit day say nothing. */
    {BOOKING_REASSIGN, "booked", "booked", "reassigned", "reassigned", RELEASES | UNROUTES | BOOKING_CLEARS_ATTENTION,
     BY_OFFICE},
    {BOOKING_REASSIGN, "assigned", "assigned", "reassigned", "booking_reassigned",
     RELEASES | UNROUTES | BOOKING_CLEARS_ATTENTION | RENEWS, BY_OFFICE},
    {BOOKING_FLAG, "booked", "booked", "needs_attention", NULL, BOOKING_SETS_ATTENTION, BY_OFFICE},
    {BOOKING_FLAG, "assigned", "assigned", "needs_attention", NULL, BOOKING_SETS_ATTENTION, BY_OFFICE},
    {BOOKING_PLAN, "booked", "booked", "reassigned", NULL, 0, BY_OFFICE | BY_SYSTEM},
};

static const char *const booking_states[] = {
    "booked",    "assigned",          "en_route",  "arrived",   "documents_collected", "completed",
    "submitted", "certificate_ready", "delivered", "cancelled", "rescheduled",         "no_show",
    "failed",    "rejected"};

const struct booking_transition *booking_transitions(size_t *n)
{
	*n = sizeof booking_table / sizeof booking_table[0];
	return booking_table;
}

static int booking_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

const struct booking_transition *booking_transition_find(enum booking_change_kind kind, const char *from,
                                                         const char *to)
{
	const struct booking_transition *found = NULL;
	int matches = 0;
	for (size_t i = 0; i < sizeof booking_table / sizeof booking_table[0]; i++) {
		const struct booking_transition *t = &booking_table[i];
		if (t->kind != kind || !booking_same(t->from, from) || (to && strcmp(t->to, to) != 0))
			continue;
		found = t;
		matches++;
	}
	/* Without a target, a state with several rows of this kind is ambiguous. */
	return matches == 1 ? found : NULL;
}

int booking_transition_target(enum booking_change_kind kind, const char *to)
{
	for (size_t i = 0; i < sizeof booking_table / sizeof booking_table[0]; i++)
		if (booking_table[i].kind == kind && strcmp(booking_table[i].to, to) == 0)
			return 1;
	return 0;
}

int booking_transition_allows(const struct booking_transition *t, int role)
{
	return t && role && (t->roles & role) == role;
}

int booking_state_known(const char *status)
{
	for (size_t i = 0; i < sizeof booking_states / sizeof booking_states[0]; i++)
		if (strcmp(booking_states[i], status) == 0)
			return 1;
	return 0;
}

enum db_status booking_unit_release(const char *agent_id, const char *window_start)
{
	static const char sql[] =
	    "UPDATE agent_window w SET booked = w.booked - 1, "
	    "       capacity = w.capacity - CASE WHEN EXISTS (SELECT 1 FROM agent_unavailable u JOIN district d "
	    "           ON d.id = w.district_id WHERE u.agent_id = w.agent_id "
	    "            AND u.day = (w.starts_at AT TIME ZONE d.time_zone)::date) THEN 1 ELSE 0 END "
	    "WHERE w.agent_id = $1 AND w.starts_at = $2::timestamptz";
	const char *p[] = {agent_id, window_start};
	return db_run(sql, 2, p);
}

/* The booking row after the change: status, unit, route, flag and visit code. */
static enum db_status booking_change_row(const struct booking_transition *t, const struct booking_change *c,
                                         const char *code_hash)
{
	static const char sql[] =
	    "UPDATE booking SET status = $2, agent_id = coalesce($3::int, agent_id), "
	    "       window_start = coalesce($4::timestamptz, window_start), window_end = coalesce($5::timestamptz, "
	    "window_end), "
	    "       route_order = CASE WHEN $6 THEN NULL ELSE route_order END, "
	    "       planned_arrival = CASE WHEN $6 THEN NULL ELSE planned_arrival END, "
	    "       needs_attention = CASE $7 WHEN 'set' THEN $8 WHEN 'clear' THEN NULL ELSE needs_attention END, "
	    "       attention_at = CASE $7 WHEN 'set' THEN $9::timestamptz WHEN 'clear' THEN NULL ELSE attention_at "
	    "END, "
	    "       visit_code_hash = coalesce(decode($10, 'hex'), visit_code_hash), updated_at = $9 "
	    "WHERE id = $1";
	struct db_args a = {0};
	const char *attention = t->effects & BOOKING_SETS_ATTENTION     ? "set"
	                        : t->effects & BOOKING_CLEARS_ATTENTION ? "clear"
	                                                                : "keep";
	db_arg_text(&a, c->booking_id);
	db_arg_text(&a, t->to);
	db_arg_text(&a, c->new_agent);
	db_arg_text(&a, c->new_start);
	db_arg_text(&a, c->new_end);
	db_arg_bool(&a, t->effects & BOOKING_CLEARS_ROUTE);
	db_arg_text(&a, attention);
	db_arg_text(&a, c->attention);
	db_arg_text(&a, c->now);
	db_arg_text(&a, code_hash);
	return db_run(sql, a.n, a.v);
}

static enum db_status booking_change_event(const struct booking_transition *t, struct booking_change *c)
{
	static const char sql[] =
	    "SELECT booking_change_record($1, $2, $3, $4, $5, $6, $7, $8, "
	    "       CASE WHEN $9::float8 IS NOT NULL THEN ST_SetSRID(ST_MakePoint($10::float8, $9::float8), 4326) END, "
	    "       $11::jsonb)";
	struct db_args a = {0};
	enum db_status st;
	db_arg_text(&a, c->booking_id);
	db_arg_text(&a, t->action);
	db_arg_text(&a, c->from);
	db_arg_text(&a, t->to);
	db_arg_text(&a, c->role == BOOKING_BY_SYSTEM ? "system" : auth_role_name(c->role));
	if (c->role == BOOKING_BY_SYSTEM)
		db_arg_text(&a, NULL);
	else
		db_arg_ll(&a, c->actor);
	db_arg_text(&a, c->now);
	db_arg_text(&a, c->note);
	db_arg_text(&a, c->lat);
	db_arg_text(&a, c->lon);
	db_arg_text(&a, c->detail);
	PGresult *res = db_exec(sql, a.n, a.v, &st);
	if (st == DB_OK)
		c->event_id = db_get_ll(res, 0, 0);
	PQclear(res);
	return st;
}

static enum db_status booking_change_notify(const struct booking_transition *t, const struct booking_change *c)
{
	static const char sql[] =
	    "SELECT booking_notify_ex($1, $2, $3, $4, $5, "
	    "                         jsonb_strip_nulls(jsonb_build_object('to_status', $6::text, 'code', $7::text)))";
	char dedupe[48];
	struct db_args a = {0};
	if (c->sms_dedupe)
		snprintf(dedupe, sizeof dedupe, "%s", c->sms_dedupe);
	else
		snprintf(dedupe, sizeof dedupe, "ev%lld", c->event_id);
	db_arg_text(&a, c->booking_id);
	db_arg_text(&a, t->sms);
	db_arg_text(&a, c->now);
	db_arg_text(&a, c->sms_url);
	db_arg_text(&a, dedupe);
	db_arg_text(&a, t->to);
	db_arg_text(&a, c->visit_code[0] ? c->visit_code : NULL);
	return db_run(sql, a.n, a.v);
}

enum db_status booking_change_apply(const struct booking_transition *t, struct booking_change *c)
{
	char code_hash[65];
	enum db_status st = DB_OK;

	c->visit_code[0] = '\0';
	c->event_id = 0;
	if (!booking_transition_allows(t, c->role))
		return DB_FAILED; /* the caller found the row and checked the role: a bug */
	if (t->effects & BOOKING_RENEWS_CODE) {
		if (visit_code_new(c->reference, c->visit_code, code_hash) != 0)
			return DB_FAILED;
	}
	if (t->effects & BOOKING_RELEASES_UNIT) {
		st = booking_unit_release(c->unit_agent, c->unit_start);
		if (st != DB_OK)
			return st;
	}
	/* A new booking was inserted in its state; every other change updates the row. */
	if (c->from) {
		st = booking_change_row(t, c, t->effects & BOOKING_RENEWS_CODE ? code_hash : NULL);
		if (st != DB_OK)
			return st;
	}
	st = booking_change_event(t, c);
	if (st == DB_OK && t->sms)
		st = booking_change_notify(t, c);
	return st;
}
