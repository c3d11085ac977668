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

#endif
