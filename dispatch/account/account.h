/* account: signing in — residents by OTP to their phone, staff and agents by password —
 * and the development helpers that only exist with the log SMS driver or in tests. */
#ifndef MITAN_ACCOUNT_H
#define MITAN_ACCOUNT_H

#include "http.h"

void account_otp_request(struct http_req *r); /* POST /api/v1/auth/otp */
void account_otp_verify(struct http_req *r);  /* POST /api/v1/auth/otp/verify */
void account_login(struct http_req *r);       /* POST /api/v1/auth/login */
void account_logout(struct http_req *r);      /* POST /api/v1/auth/logout: ends the caller's session */
void account_dev_sms(struct http_req *r);     /* GET /api/v1/dev/sms?phone= (log driver only) */
void account_dev_clock(struct http_req *r);   /* POST /api/v1/dev/clock (env test only) */

/* E.164: + and 8 to 15 digits, no leading zero. 1 when valid. */
int account_phone_valid(const char *phone);
/* What a refused phone number is told. */
#define ACCOUNT_PHONE_FORMAT "must be in international format, e.g. +919876543210"

#endif
