/* Unit tests for the booking's transition table (dispatch/booking/change.c): every change
 * that is allowed, with its side effects and who may make it, written out here on its own;
 * every other (kind, from, to) over all states is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "booking/change.h"

static const char *const states[] = {
    "booked",    "assigned",          "en_route",  "arrived",   "documents_collected", "completed",
    "submitted", "certificate_ready", "delivered", "cancelled", "rescheduled",         "no_show",
    "failed",    "rejected"};
#define NSTATES (sizeof states / sizeof states[0])

#define OWNER  (ROLE_RESIDENT | ROLE_OPERATOR | ROLE_OFFICER | ROLE_ADMIN)
#define OFFICE (ROLE_OFFICER | ROLE_ADMIN)

struct expected {
	enum booking_change_kind kind;
	const char *from, *to, *action, *sms;
	int effects, roles;
};

/* The rules, said independently of the table. */
static const struct expected allowed[] = {
    {BOOKING_CREATE, NULL, "booked", "created", "booking_confirmed", 0, ROLE_RESIDENT | ROLE_OPERATOR},
    {BOOKING_CANCEL, "booked", "cancelled", "cancelled", "booking_cancelled",
     BOOKING_RELEASES_UNIT | BOOKING_BEFORE_WINDOW, OWNER},
    {BOOKING_CANCEL, "assigned", "cancelled", "cancelled", "booking_cancelled",
     BOOKING_RELEASES_UNIT | BOOKING_BEFORE_WINDOW, OWNER},
    {BOOKING_RESCHEDULE, "booked", "booked", "rescheduled", "booking_rescheduled",
     BOOKING_RELEASES_UNIT | BOOKING_CLEARS_ROUTE | BOOKING_BEFORE_WINDOW, OWNER},
    {BOOKING_RESCHEDULE, "assigned", "booked", "rescheduled", "booking_rescheduled",
     BOOKING_RELEASES_UNIT | BOOKING_CLEARS_ROUTE | BOOKING_BEFORE_WINDOW, OWNER},
    {BOOKING_FREEZE, "booked", "assigned", "assigned", "visit_day", BOOKING_RENEWS_CODE, BOOKING_BY_SYSTEM},
    {BOOKING_AGENT_STEP, "assigned", "en_route", "status", "status_en_route", BOOKING_ON_VISIT_DAY, ROLE_AGENT},
    {BOOKING_AGENT_STEP, "assigned", "no_show", "status", "status_no_show", 0, ROLE_AGENT},
    {BOOKING_AGENT_STEP, "assigned", "failed", "status", "status_failed", 0, ROLE_AGENT},
    {BOOKING_AGENT_STEP, "en_route", "arrived", "status", "status_arrived", BOOKING_ON_VISIT_DAY | BOOKING_NEEDS_CODE,
     ROLE_AGENT},
    {BOOKING_AGENT_STEP, "en_route", "no_show", "status", "status_no_show", 0, ROLE_AGENT},
    {BOOKING_AGENT_STEP, "en_route", "failed", "status", "status_failed", 0, ROLE_AGENT},
    {BOOKING_AGENT_STEP, "arrived", "documents_collected", "status", "status_documents_collected", 0, ROLE_AGENT},
    {BOOKING_AGENT_STEP, "arrived", "failed", "status", "status_failed", 0, ROLE_AGENT},
    {BOOKING_AGENT_STEP, "documents_collected", "completed", "status", "status_completed", 0, ROLE_AGENT},
    {BOOKING_OFFICE_STEP, "arrived", "rejected", "status", "booking_status", 0, OFFICE},
    {BOOKING_OFFICE_STEP, "documents_collected", "submitted", "status", "booking_status", 0, OFFICE},
    {BOOKING_OFFICE_STEP, "completed", "submitted", "status", "booking_status", 0, OFFICE},
    {BOOKING_OFFICE_STEP, "submitted", "certificate_ready", "status", "booking_status", 0, OFFICE},
    {BOOKING_OFFICE_STEP, "submitted", "rejected", "status", "booking_status", 0, OFFICE},
    {BOOKING_OFFICE_STEP, "certificate_ready", "delivered", "status", "booking_status", 0, OFFICE},
    {BOOKING_REASSIGN, "booked", "booked", "reassigned", "reassigned",
     BOOKING_RELEASES_UNIT | BOOKING_CLEARS_ROUTE | BOOKING_CLEARS_ATTENTION, OFFICE},
    {BOOKING_REASSIGN, "assigned", "assigned", "reassigned", "booking_reassigned",
     BOOKING_RELEASES_UNIT | BOOKING_CLEARS_ROUTE | BOOKING_CLEARS_ATTENTION | BOOKING_RENEWS_CODE, OFFICE},
    {BOOKING_FLAG, "booked", "booked", "needs_attention", NULL, BOOKING_SETS_ATTENTION, OFFICE},
    {BOOKING_FLAG, "assigned", "assigned", "needs_attention", NULL, BOOKING_SETS_ATTENTION, OFFICE},
    {BOOKING_PLAN, "booked", "booked", "reassigned", NULL, 0, OFFICE | BOOKING_BY_SYSTEM},
};
#define NALLOWED (sizeof allowed / sizeof allowed[0])

static const enum booking_change_kind kinds[] = {BOOKING_CREATE,     BOOKING_CANCEL,      BOOKING_RESCHEDULE,
                                                 BOOKING_AGENT_STEP, BOOKING_OFFICE_STEP, BOOKING_FREEZE,
                                                 BOOKING_REASSIGN,   BOOKING_FLAG,        BOOKING_PLAN};
static const int roles[] = {ROLE_RESIDENT,  ROLE_OPERATOR, ROLE_AGENT,       ROLE_OFFICER,
                            ROLE_COMMITTEE, ROLE_ADMIN,    BOOKING_BY_SYSTEM};

static const struct expected *expected_for(enum booking_change_kind kind, const char *from, const char *to)
{
	for (size_t i = 0; i < NALLOWED; i++)
		if (allowed[i].kind == kind &&
		    ((!from && !allowed[i].from) || (from && allowed[i].from && strcmp(from, allowed[i].from) == 0)) &&
		    strcmp(to, allowed[i].to) == 0)
			return &allowed[i];
	return NULL;
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Every allowed change is found with its side effects; who may make it, and nobody else. */
static void test_allowed_changes(void **state)
{
	(void)state;
	for (size_t i = 0; i < NALLOWED; i++) {
		const struct expected *e = &allowed[i];
		const struct booking_transition *t = booking_transition_find(e->kind, e->from, e->to);
		assert_non_null(t);
		assert_string_equal(t->to, e->to);
		assert_string_equal(t->action, e->action);
		assert_true(same(t->sms, e->sms));
		assert_int_equal(t->effects, e->effects);
		for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++)
			assert_int_equal(booking_transition_allows(t, roles[r]), (e->roles & roles[r]) != 0);
	}
	size_t n;
	booking_transitions(&n);
	assert_int_equal(n, NALLOWED); /* nothing in the table that the rules above do not say */
}

/* Every other change, of every kind between any two states, is refused. */
static void test_refused_changes(void **state)
{
	(void)state;
	int refused = 0;
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		for (size_t f = 0; f <= NSTATES; f++) {
			const char *from = f < NSTATES ? states[f] : NULL;
			for (size_t to = 0; to < NSTATES; to++) {
				const struct booking_transition *t =
				    booking_transition_find(kinds[k], from, states[to]);
				const struct expected *e = expected_for(kinds[k], from, states[to]);
				assert_int_equal(t != NULL, e != NULL);
				refused += t == NULL;
			}
		}
	}
	assert_true(refused > 1000);
	/* No change at all out of an end state. */
	const char *const ends[] = {"delivered", "cancelled", "rescheduled", "no_show", "failed", "rejected"};
	for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
		for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
			assert_null(booking_transition_find(kinds[k], ends[i], NULL));
	assert_false(booking_transition_allows(NULL, ROLE_ADMIN));
}

/* Without a target, a kind's change is found only where it has one target. */
static void test_kind_without_target(void **state)
{
	(void)state;
	assert_string_equal(booking_transition_find(BOOKING_CANCEL, "assigned", NULL)->to, "cancelled");
	assert_string_equal(booking_transition_find(BOOKING_RESCHEDULE, "assigned", NULL)->to, "booked");
	assert_string_equal(booking_transition_find(BOOKING_REASSIGN, "assigned", NULL)->to, "assigned");
	assert_null(booking_transition_find(BOOKING_AGENT_STEP, "assigned", NULL));    /* en_route, no_show or failed */
	assert_null(booking_transition_find(BOOKING_CANCEL, "en_route", NULL));        /* the agent is at the door */
	assert_null(booking_transition_find(BOOKING_AGENT_STEP, "booked", "arrived")); /* no skipping the door */
}

static void test_states(void **state)
{
	(void)state;
	for (size_t i = 0; i < NSTATES; i++)
		assert_true(booking_state_known(states[i]));
	assert_false(booking_state_known("lost"));
	assert_false(booking_state_known(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_allowed_changes),
	    cmocka_unit_test(test_refused_changes),
	    cmocka_unit_test(test_kind_without_target),
	    cmocka_unit_test(test_states),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
