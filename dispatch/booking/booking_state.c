#include "booking/booking_state.h"

#include <stddef.h>
#include <string.h>

static const struct {
	const char *from;
	const char *to;
} booking_transitions[] = {
	{ "booked", "assigned" },       { "booked", "cancelled" },
	{ "booked", "rescheduled" },    { "assigned", "en_route" },
	{ "assigned", "cancelled" },    { "assigned", "rescheduled" },
	{ "assigned", "no_show" },      { "assigned", "failed" },
	{ "en_route", "arrived" },      { "en_route", "no_show" },
	{ "en_route", "failed" },       { "arrived", "documents_collected" },
	{ "arrived", "failed" },        { "arrived", "rejected" },
	{ "documents_collected", "completed" }, { "documents_collected", "submitted" },
	{ "completed", "submitted" },   { "submitted", "certificate_ready" },
	{ "submitted", "rejected" },    { "certificate_ready", "delivered" },
};

int booking_state_allowed(const char *from, const char *to)
{
	for (size_t i = 0; i < sizeof booking_transitions / sizeof booking_transitions[0]; i++)
		if (strcmp(booking_transitions[i].from, from) == 0 && strcmp(booking_transitions[i].to, to) == 0)
			return 1;
	return 0;
}

/* A visit keeps its unit to the end: the agent's time in that window is spent whether the
 * visit completed, failed or found nobody at home. Only cancelling gives it back (and a
 * reschedule moves it). */
int booking_state_holds_capacity(const char *status)
{
	return strcmp(status, "cancelled") != 0 && strcmp(status, "rescheduled") != 0;
}

int booking_state_known(const char *status)
{
	static const char *const states[] = { "booked", "assigned", "en_route", "arrived", "documents_collected",
					      "completed", "submitted", "certificate_ready", "delivered", "cancelled",
					      "rescheduled", "no_show", "failed", "rejected" };
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
		if (strcmp(states[i], status) == 0)
			return 1;
	return 0;
}
