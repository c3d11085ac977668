#include "crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static unsigned char crypto_secret[CRYPTO_SECRET_LEN];
static int crypto_secret_ready;

int crypto_random(void *out, size_t n)
{
	return RAND_bytes(out, (int)n) == 1 ? 0 : -1;
}

void crypto_sha256(const void *p, size_t n, unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned int len = CRYPTO_SHA256_LEN;
	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

struct crypto_digest *crypto_sha256_begin(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		abort(); /* out of memory */
	return (struct crypto_digest *)ctx;
}

void crypto_sha256_update(struct crypto_digest *d, const void *p, size_t n)
{
	EVP_DigestUpdate((EVP_MD_CTX *)d, p, n);
}

void crypto_sha256_end(struct crypto_digest *d, unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned int len = CRYPTO_SHA256_LEN;
	EVP_DigestFinal_ex((EVP_MD_CTX *)d, out, &len);
	EVP_MD_CTX_free((EVP_MD_CTX *)d);
}

void crypto_sha256_free(struct crypto_digest *d)
{
	EVP_MD_CTX_free((EVP_MD_CTX *)d);
}

void crypto_hmac_sha256(const void *key, size_t keylen, const void *p, size_t n, unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned int len = CRYPTO_SHA256_LEN;
	HMAC(EVP_sha256(), key, (int)keylen, p, n, out, &len);
}

int crypto_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void crypto_hex(const unsigned char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void crypto_base64url(const unsigned char *p, size_t n, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = tab[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = tab[v & 63];
	}
	out[o] = '\0';
}

/* Decodes base64 (c62/c63 = '+' '/') or base64url ('-' '_'). Padding '=' (at most two) may
 * end standard base64; a lone sextet or stray bits are refused. */
static int crypto_b64_decode(const char *s, size_t n, char c62, char c63, unsigned char *out, size_t outcap,
                             size_t *outlen)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0, i = 0;
	for (; i < n && s[i] != '='; i++) {
		int v;
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == c62)
			v = 62;
		else if (c == c63)
			v = 63;
		else
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outcap)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	for (size_t pad = 0; i < n; i++, pad++) /* only '=' may follow, at most two */
		if (c62 == '-' || s[i] != '=' || pad >= 2)
			return -1;
	if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) /* a lone sextet or stray bits */
		return -1;
	*outlen = o;
	return 0;
}

static int crypto_base64url_decode(const char *s, unsigned char *out, size_t outcap, size_t *outlen)
{
	return crypto_b64_decode(s, strlen(s), '-', '_', out, outcap, outlen);
}

int crypto_base64_decode(const char *s, size_t n, unsigned char *out, size_t outcap, size_t *outlen)
{
	return crypto_b64_decode(s, n, '+', '/', out, outcap, outlen);
}

static int crypto_gcm(int enc, const unsigned char *key, const unsigned char *nonce, const void *aad, size_t aadlen,
                      const void *in, size_t n, void *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len = 0, rc = -1;
	if (!ctx || n > INT32_MAX || aadlen > INT32_MAX)
		goto out;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, CRYPTO_GCM_NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1)
		goto out;
	if (aadlen && EVP_CipherUpdate(ctx, NULL, &len, aad, (int)aadlen) != 1)
		goto out;
	if (n && EVP_CipherUpdate(ctx, out, &len, in, (int)n) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_GCM_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, (unsigned char *)out + len, &len) != 1)
		goto out; /* on open: the tag did not authenticate */
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_GCM_TAG_LEN, tag) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int crypto_gcm_seal(const unsigned char key[CRYPTO_GCM_KEY_LEN], const unsigned char nonce[CRYPTO_GCM_NONCE_LEN],
                    const void *aad, size_t aadlen, const void *in, size_t n, void *out,
                    unsigned char tag[CRYPTO_GCM_TAG_LEN])
{
	return crypto_gcm(1, key, nonce, aad, aadlen, in, n, out, tag);
}

int crypto_gcm_open(const unsigned char key[CRYPTO_GCM_KEY_LEN], const unsigned char nonce[CRYPTO_GCM_NONCE_LEN],
                    const void *aad, size_t aadlen, const void *in, size_t n, void *out,
                    const unsigned char tag[CRYPTO_GCM_TAG_LEN])
{
	unsigned char t[CRYPTO_GCM_TAG_LEN];
	memcpy(t, tag, sizeof t);
	int rc = crypto_gcm(0, key, nonce, aad, aadlen, in, n, out, t);
	if (rc != 0 && n)
		OPENSSL_cleanse(out, n); /* never hand out unauthenticated plaintext */
	return rc;
}

int crypto_token(char out[CRYPTO_TOKEN_LEN], unsigned char hash[CRYPTO_SHA256_LEN])
{
	unsigned char raw[CRYPTO_TOKEN_BYTES];
	if (crypto_random(raw, sizeof raw) != 0)
		return -1;
	crypto_base64url(raw, sizeof raw, out);
	crypto_sha256(out, strlen(out), hash);
	return 0;
}

int crypto_digits(char *out, int digits)
{
	for (int i = 0; i < digits; i++) {
		unsigned char b;
		do {
			if (crypto_random(&b, 1) != 0)
				return -1;
		} while (b >= 250); /* reject to stay unbiased */
		out[i] = (char)('0' + b % 10);
	}
	out[digits] = '\0';
	return 0;
}

int crypto_reference(char out[18])
{
	static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	unsigned char raw[8];
	uint64_t v = 0;
	int o = 0;
	if (crypto_random(raw, sizeof raw) != 0)
		return -1;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | raw[i];
	out[o++] = 'M';
	out[o++] = 'T';
	for (int i = 0; i < 12; i++) { /* 12 symbols x 5 bits = 60 bits */
		if (i % 4 == 0)
			out[o++] = '-';
		out[o++] = crockford[v & 31];
		v >>= 5;
	}
	out[o] = '\0';
	return 0;
}

int crypto_password_hash(const char *password, int iterations, char *out, size_t outlen)
{
	unsigned char salt[16], dk[32];
	char salt64[32], dk64[48];
	if (crypto_random(salt, sizeof salt) != 0)
		return -1;
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof salt, iterations, EVP_sha256(), sizeof dk,
	                      dk) != 1)
		return -1;
	crypto_base64url(salt, sizeof salt, salt64);
	crypto_base64url(dk, sizeof dk, dk64);
	int n = snprintf(out, outlen, "pbkdf2-sha256$%d$%s$%s", iterations, salt64, dk64);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int crypto_password_verify(const char *password, const char *stored)
{
	char copy[256];
	unsigned char salt[64], want[64], got[64];
	size_t saltlen, wantlen;
	long iterations;
	int ok = 0;

	if (snprintf(copy, sizeof copy, "%s", stored) >= (int)sizeof copy)
		return 0;
	char *p1 = strchr(copy, '$');
	char *p2 = p1 ? strchr(p1 + 1, '$') : NULL;
	char *p3 = p2 ? strchr(p2 + 1, '$') : NULL;
	if (!p3)
		return 0;
	*p1 = *p2 = *p3 = '\0';
	if (strcmp(copy, "pbkdf2-sha256") != 0 || parse_long(p1 + 1, 1000, 10000000, &iterations) != 0 ||
	    crypto_base64url_decode(p2 + 1, salt, sizeof salt, &saltlen) != 0 ||
	    crypto_base64url_decode(p3 + 1, want, sizeof want, &wantlen) != 0 || wantlen == 0)
		return 0;
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)saltlen, (int)iterations, EVP_sha256(),
	                      (int)wantlen, got) == 1)
		ok = crypto_equal(got, want, wantlen);
	OPENSSL_cleanse(got, sizeof got);
	return ok;
}

int crypto_secret_init(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	if (fd < 0 && errno == ENOENT) {
		unsigned char fresh[CRYPTO_SECRET_LEN];
		if (crypto_random(fresh, sizeof fresh) != 0) {
			snprintf(err, errlen, "no randomness for the installation secret");
			return -1;
		}
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			n = write(fd, fresh, sizeof fresh);
			close(fd);
			if (n != (ssize_t)sizeof fresh) {
				unlink(path);
				snprintf(err, errlen, "cannot write the installation secret %s", path);
				return -1;
			}
		}
		OPENSSL_cleanse(fresh, sizeof fresh);
		fd = open(path, O_RDONLY | O_CLOEXEC); /* re-read: another process may have won the race */
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the installation secret %s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, crypto_secret, sizeof crypto_secret);
	close(fd);
	if (n != (ssize_t)sizeof crypto_secret) {
		snprintf(err, errlen, "the installation secret %s must hold %d bytes", path, CRYPTO_SECRET_LEN);
		return -1;
	}
	crypto_secret_ready = 1;
	return 0;
}

void crypto_secret_hmac(const char *purpose, const void *p, size_t n, unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned char key[CRYPTO_SHA256_LEN];
	if (!crypto_secret_ready)
		abort(); /* a programming error: the secret is loaded at start-up */
	crypto_hmac_sha256(crypto_secret, sizeof crypto_secret, purpose, strlen(purpose), key);
	crypto_hmac_sha256(key, sizeof key, p, n, out);
	OPENSSL_cleanse(key, sizeof key);
}
