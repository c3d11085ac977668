/* sla_api: the HTTP side of the time limits — the officers' view of SLA cases and a
 * resident's reminder on a booking. */
#ifndef MITAN_SLA_API_H
#define MITAN_SLA_API_H

#include "http.h"

/* GET /api/v1/admin/sla?state=on_time|reminded|escalated: open cases with their limits. */
void sla_list(struct http_req *r);
/* POST /api/v1/bookings/{reference}/remind {note?}: the owner reminds the nodal officer;
 * once per 24 hours per booking (429 with Retry-After). */
void sla_remind(struct http_req *r);

#endif
