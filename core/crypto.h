/* crypto: OpenSSL behind a few small calls — randomness, digests, HMAC, password hashes. */
#ifndef MITAN_CRYPTO_H
#define MITAN_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN        32
#define CRYPTO_PBKDF2_ITERATIONS 600000

int crypto_random(void *out, size_t n); /* RAND_bytes; 0 on success */
void crypto_sha256(const void *p, size_t n, unsigned char out[CRYPTO_SHA256_LEN]);
/* Incremental SHA-256. end() writes the digest and frees; free() is NULL-safe. */
struct crypto_digest;
struct crypto_digest *crypto_sha256_begin(void);
void crypto_sha256_update(struct crypto_digest *d, const void *p, size_t n);
void crypto_sha256_end(struct crypto_digest *d, unsigned char out[CRYPTO_SHA256_LEN]);
void crypto_sha256_free(struct crypto_digest *d);
void crypto_hmac_sha256(const void *key, size_t keylen, const void *p, size_t n, unsigned char out[CRYPTO_SHA256_LEN]);
int crypto_equal(const void *a, const void *b, size_t n); /* constant time; 1 if equal */

/* Hex of n bytes into out (2n+1 bytes). */
void crypto_hex(const unsigned char *p, size_t n, char *out);
/* base64url without padding; out needs 4*ceil(n/3)+1 bytes. */
void crypto_base64url(const unsigned char *p, size_t n, char *out);

#define CRYPTO_TOKEN_BYTES 32 /* 256 random bits */
#define CRYPTO_TOKEN_LEN   44 /* their base64url text (43 characters, no padding) and its NUL */
/* A random bearer token as base64url, and its SHA-256. */
int crypto_token(char out[CRYPTO_TOKEN_LEN], unsigned char hash[CRYPTO_SHA256_LEN]);
/* `digits` random decimal digits, unbiased. */
int crypto_digits(char *out, int digits);
/* A 60-bit random reference "MT-XXXX-XXXX-XXXX" in Crockford base32 (18 bytes with NUL). */
int crypto_reference(char out[18]);

/* PBKDF2-HMAC-SHA256 password hash "pbkdf2-sha256$iter$salt$hash" (base64url parts). */
int crypto_password_hash(const char *password, int iterations, char *out, size_t outlen);
/* 1 if password matches the stored hash, 0 if not (or malformed). */
int crypto_password_verify(const char *password, const char *stored);

/* Standard base64 (RFC 4648 §4, padding optional) of a string of n chars; 0 on success. */
int crypto_base64_decode(const char *s, size_t n, unsigned char *out, size_t outcap, size_t *outlen);

/* AES-256-GCM with a 96-bit nonce and a 128-bit tag. `out` holds n bytes. Seal returns 0;
 * open returns 0 only when the tag authenticates the ciphertext and aad. */
#define CRYPTO_GCM_KEY_LEN   32
#define CRYPTO_GCM_NONCE_LEN 12
#define CRYPTO_GCM_TAG_LEN   16
int crypto_gcm_seal(const unsigned char key[CRYPTO_GCM_KEY_LEN], const unsigned char nonce[CRYPTO_GCM_NONCE_LEN],
                    const void *aad, size_t aadlen, const void *in, size_t n, void *out,
                    unsigned char tag[CRYPTO_GCM_TAG_LEN]);
int crypto_gcm_open(const unsigned char key[CRYPTO_GCM_KEY_LEN], const unsigned char nonce[CRYPTO_GCM_NONCE_LEN],
                    const void *aad, size_t aadlen, const void *in, size_t n, void *out,
                    const unsigned char tag[CRYPTO_GCM_TAG_LEN]);

#define CRYPTO_SECRET_LEN 32
/* The installation secret (CRYPTO_SECRET_LEN bytes in `path`, made on first use with mode 0600): keys
 * derived tracking tokens and signatures. Never in the database, logs or replies. */
int crypto_secret_init(const char *path, char *err, size_t errlen);
/* HMAC-SHA256 under the installation secret, with a purpose label so keys never mix. */
void crypto_secret_hmac(const char *purpose, const void *p, size_t n, unsigned char out[CRYPTO_SHA256_LEN]);

#endif
