/* sms_api: the HTTP side of the SMS outbox — the gateway's delivery reports and the
 * officers' view of dead letters. */
#ifndef MITAN_SMS_API_H
#define MITAN_SMS_API_H

#include "http.h"

/* POST /api/v1/sms/dlr: HMAC-SHA256 of the raw body under cfg.sms_dlr_secret in
 * X-Signature (hex). Idempotent; a message's status only moves forward. */
void sms_dlr(struct http_req *r);
/* GET /api/v1/admin/sms/dead-letters?limit=: failed messages of the caller's district. */
void sms_dead_letters(struct http_req *r);
void sms_dead_letter_retry(struct http_req *r); /* POST /api/v1/admin/sms/dead-letters/{id}/retry */

#endif
