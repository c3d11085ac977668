/* crypto: OpenSSL behind a few small calls — randomness, digests, HMAC, password hashes. */
#ifndef MITAN_CRYPTO_H
#define MITAN_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_PBKDF2_ITERATIONS 600000

int crypto_random(void *out, size_t n);                 /* RAND_bytes; 0 on success */
void crypto_sha256(const void *p, size_t n, unsigned char out[CRYPTO_SHA256_LEN]);
void crypto_hmac_sha256(const void *key, size_t keylen, const void *p, size_t n,
			unsigned char out[CRYPTO_SHA256_LEN]);
int crypto_equal(const void *a, const void *b, size_t n); /* constant time; 1 if equal */

/* Hex of n bytes into out (2n+1 bytes). */
void crypto_hex(const unsigned char *p, size_t n, char *out);
/* base64url without padding; out needs 4*ceil(n/3)+1 bytes. */
void crypto_base64url(const unsigned char *p, size_t n, char *out);

/* A 256-bit random bearer token as base64url (44 bytes with NUL), and its SHA-256. */
int crypto_token(char out[44], unsigned char hash[CRYPTO_SHA256_LEN]);
/* `digits` random decimal digits, unbiased. */
int crypto_digits(char *out, int digits);
/* A 60-bit random reference "MT-XXXX-XXXX-XXXX" in Crockford base32 (18 bytes with NUL). */
int crypto_reference(char out[18]);

/* PBKDF2-HMAC-SHA256 password hash "pbkdf2-sha256$iter$salt$hash" (base64url parts). */
int crypto_password_hash(const char *password, int iterations, char *out, size_t outlen);
/* 1 if password matches the stored hash, 0 if not (or malformed). */
int crypto_password_verify(const char *password, const char *stored);

/* The installation secret (32 bytes in `path`, made on first use with mode 0600): keys
 * derived tracking tokens and signatures. Never in the database, logs or replies. */
int crypto_secret_init(const char *path, char *err, size_t errlen);
/* HMAC-SHA256 under the installation secret, with a purpose label so keys never mix. */
void crypto_secret_hmac(const char *purpose, const void *p, size_t n, unsigned char out[CRYPTO_SHA256_LEN]);

#endif
