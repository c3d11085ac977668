/* change: the one way a booking changes. Every change — a new booking, cancel, reschedule,
 * the agent's steps at the door, the office's steps after the visit, the visit-day freeze,
 * an officer's reassignment or flag, the planner's write-back — is a row of one transition
 * table, and booking_change_apply() carries the row out in the caller's transaction: the
 * unit goes back to the ledger, the booking row changes, the event and its audit entry are
 * written (SQL booking_change_record), a new visit code is made, the resident is texted.
 *
 * The caller locks the booking, takes a new unit where the change needs one (reschedule,
 * reassignment: booking_take_unit), calls booking_change_apply and commits. agent-api uses
 * this header too: the state machine is a rule of the domain, not of one API. */
#ifndef MITAN_BOOKING_CHANGE_H
#define MITAN_BOOKING_CHANGE_H

#include "auth.h"
#include "db.h"
#include "booking/visit.h"

enum booking_change_kind {
	BOOKING_CREATE,      /* a new booking has taken its unit */
	BOOKING_CANCEL,      /* by its owner or the office, before the window */
	BOOKING_RESCHEDULE,  /* to another window, whose unit the caller took first */
	BOOKING_AGENT_STEP,  /* the agent at the door */
	BOOKING_OFFICE_STEP, /* the office after the visit */
	BOOKING_FREEZE,      /* the visit-day notice: the plan is frozen, the resident gets the code */
	BOOKING_REASSIGN,    /* an officer moves the visit to another agent, whose unit the caller took */
	BOOKING_FLAG,        /* the visit needs an officer's attention; nothing else changes */
	BOOKING_PLAN,        /* the planner moved the visit (its units move in bulk, plan_write) */
};

/* What else happens with a change. */
enum booking_effect {
	BOOKING_RELEASES_UNIT = 1 << 0,    /* the unit held goes back to the ledger */
	BOOKING_RENEWS_CODE = 1 << 1,      /* a new visit code; its message carries it */
	BOOKING_CLEARS_ROUTE = 1 << 2,     /* route order and planned arrival are forgotten */
	BOOKING_SETS_ATTENTION = 1 << 3,   /* needs_attention takes the change's reason */
	BOOKING_CLEARS_ATTENTION = 1 << 4, /* a flag is resolved */
	BOOKING_BEFORE_WINDOW = 1 << 5,    /* refused once the visit window has begun */
	BOOKING_ON_VISIT_DAY = 1 << 6,     /* only on the local day of the visit */
	BOOKING_NEEDS_CODE = 1 << 7,       /* the resident's visit code must be checked first */
};

/* The system itself (the worker's jobs, the seed): not a role anyone signs in with. */
#define BOOKING_BY_SYSTEM (1 << 16)

struct booking_transition {
	enum booking_change_kind kind;
	const char *from;   /* NULL: a new booking */
	const char *to;     /* the status after the change */
	const char *action; /* booking_event.action; the audit action is booking.<action> */
	const char *sms;    /* the template texted to the beneficiary and the booker; NULL: none */
	int effects;        /* enum booking_effect bits */
	int roles;          /* who may: enum auth_role bits and BOOKING_BY_SYSTEM */
};

/* The row for this kind of change from `from` (NULL for BOOKING_CREATE) to `to` (NULL: the
 * kind's row from that state, when it has one target); NULL when the change is refused. */
const struct booking_transition *booking_transition_find(enum booking_change_kind kind, const char *from,
                                                         const char *to);
/* 1 when some change of this kind leads to `to` (the statuses an API may ask for). */
int booking_transition_target(enum booking_change_kind kind, const char *to);
/* 1 when `role` (an enum auth_role bit, or BOOKING_BY_SYSTEM) may make the change. */
int booking_transition_allows(const struct booking_transition *t, int role);
/* The table itself, for tests and docs. */
const struct booking_transition *booking_transitions(size_t *n);

/* 1 if `status` is a state of a booking at all. */
int booking_state_known(const char *status);

/* One change to carry out. Strings are borrowed for the call. */
struct booking_change {
	const char *booking_id;
	const char *reference;
	const char *from; /* the status read under the row lock; NULL for a new booking */
	int role;         /* enum auth_role bit or BOOKING_BY_SYSTEM */
	long long actor;  /* staff, person or agent id; 0 for the system */
	const char *now;
	const char *note;       /* booking_event.note, or NULL */
	const char *lat, *lon;  /* where the agent was, or NULL */
	const char *unit_agent; /* the unit held now (agent id, window start): RELEASES_UNIT */
	const char *unit_start;
	const char *new_agent; /* the unit the caller took for the change, or NULL */
	const char *new_start, *new_end;
	const char *attention;  /* SETS_ATTENTION: the reason */
	const char *sms_url;    /* the {#url#} of the message, or NULL */
	const char *sms_dedupe; /* the message's dedupe suffix; NULL: the event */
	const char *detail;     /* more for the audit entry: a JSON object's text, or NULL */
	/* out */
	char visit_code[VISIT_CODE_DIGITS + 1]; /* the new code, when the change renews it */
	long long event_id;
};

/* Carries out `t` for `c`, in the caller's transaction. DB_OK, or the failing statement's
 * status (the caller rolls back). */
enum db_status booking_change_apply(const struct booking_transition *t, struct booking_change *c);

/* Gives one unit back to the ledger; an agent marked unavailable that day keeps capacity =
 * booked (no new booking lands there). */
enum db_status booking_unit_release(const char *agent_id, const char *window_start);

#endif
