/* tracking: the public tracking token of a booking, derived from its reference under the
 * installation secret (so a receipt can show it again while the database keeps only its
 * hash): base64url(HMAC(secret, "tracking", reference))[0:22], 132 bits. */
#ifndef MITAN_TRACKING_H
#define MITAN_TRACKING_H

#include <stddef.h>

#define TRACKING_TOKEN_LEN 22

/* The token and the hex of its SHA-256 (booking.tracking_hash). */
void tracking_token(const char *reference, char token[TRACKING_TOKEN_LEN + 1], char hash_hex[65]);
/* The public URL of the tracking page: <public_url>/t/<token>. */
void tracking_url(const char *reference, char *out, size_t outlen);
/* The hex of the SHA-256 of a token a visitor presented; -1 when it cannot be a token. */
int tracking_hash_of(const char *token, char hash_hex[65]);

#endif
