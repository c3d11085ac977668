/* visit: the one-time visit code a resident checks at the door. Made when the visit-day
 * notice goes out (scheduler), checked when the agent arrives (agent-api). Only its keyed
 * hash is stored. */
#ifndef MITAN_VISIT_H
#define MITAN_VISIT_H

#define VISIT_CODE_DIGITS 6

/* A new random code for the booking `reference`, and the hex (64 chars) of its keyed hash
 * for booking.visit_code_hash (decode($n, 'hex')). 0 on success. */
int visit_code_new(const char *reference, char code[VISIT_CODE_DIGITS + 1], char hash_hex[65]);
/* 1 if `code` is the one whose hash is stored_hex (from encode(visit_code_hash, 'hex')). */
int visit_code_matches(const char *reference, const char *code, const char *stored_hex);

#endif
