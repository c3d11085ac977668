/* booking: residents and call-centre operators book, read, cancel and reschedule visits.
 * Capacity comes from the agent_window ledger in the booking's own transaction. */
#ifndef MITAN_BOOKING_H
#define MITAN_BOOKING_H

#include "http.h"

void booking_create(struct http_req *r);     /* POST /api/v1/bookings */
void booking_list(struct http_req *r);       /* GET /api/v1/bookings */
void booking_get(struct http_req *r);        /* GET /api/v1/bookings/{reference} */
void booking_cancel(struct http_req *r);     /* POST /api/v1/bookings/{reference}/cancel */
void booking_reschedule(struct http_req *r); /* POST /api/v1/bookings/{reference}/reschedule */
void booking_receipt(struct http_req *r);    /* GET /api/v1/bookings/{reference}/receipt.svg */
void booking_track(struct http_req *r);      /* GET /t/{token}: public, no personal data */
/* POST /api/v1/admin/bookings/{reference}/status: the office's steps after the visit */
void booking_office_step(struct http_req *r);

/* Takes one unit of the nearest capable agent (other than exclude_agent, NULL for none, and
 * none marked unavailable that day) with capacity in the zone's window starting at `start`,
 * in the caller's transaction. *taken = 1 with the agent and the window's end filled, or
 * *taken = 0 when no unit is left. DB_RETRY when units remain only in rows that other
 * bookings hold for longer than a booking waits. */
enum db_status booking_take_unit(const char *zone_id, const char *start, const char *service, const char *department,
                                 const char *lat, const char *lon, const char *exclude_agent, int *taken,
                                 char agent_id[16], char window_end[40]);

#endif
