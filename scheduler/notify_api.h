/* notify_api: the HTTP side of the scheduler — the gateway's delivery reports, the
 * officers' views of dead letters and SLA cases, and a resident's reminder on a booking. */
#ifndef MITAN_NOTIFY_API_H
#define MITAN_NOTIFY_API_H

#include "http.h"

/* POST /api/v1/sms/dlr: HMAC-SHA256 of the raw body under cfg.sms_dlr_secret in
 * X-Signature (hex). Idempotent; a message's status only moves forward. */
void sms_dlr(struct http_req *r);
/* GET /api/v1/admin/sms/dead-letters?limit=: failed messages of the caller's district. */
void sms_dead_letters(struct http_req *r);
void sms_dead_letter_retry(struct http_req *r); /* POST /api/v1/admin/sms/dead-letters/{id}/retry */
/* GET /api/v1/admin/sla?state=on_time|reminded|escalated: open cases with their limits. */
void sla_list(struct http_req *r);
/* POST /api/v1/bookings/{reference}/remind {note?}: the owner reminds the nodal officer;
 * once per 24 hours per booking (429 with Retry-After). */
void sla_remind(struct http_req *r);

#endif
