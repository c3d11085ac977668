/* booking_state: the booking state machine, in one place. agent-api uses it too. */
#ifndef MITAN_BOOKING_STATE_H
#define MITAN_BOOKING_STATE_H

/* 1 if a booking in state `from` may move to `to`. */
int booking_state_allowed(const char *from, const char *to);
/* 1 if the booking still holds a unit of agent capacity in this state (every state but
 * cancelled and rescheduled: a visit in progress or done has spent its unit). */
int booking_state_holds_capacity(const char *status);
/* 1 if `status` is a state of a booking at all. */
int booking_state_known(const char *status);

#endif
