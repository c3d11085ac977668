#include "booking/tracking.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "crypto.h"

#define TRACKING_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

void tracking_token(const char *reference, char token[TRACKING_TOKEN_LEN + 1], char hash_hex[65])
{
	unsigned char mac[CRYPTO_SHA256_LEN];
	char full[48];
	crypto_secret_hmac("tracking", reference, strlen(reference), mac);
	crypto_base64url(mac, 17, full);
	memcpy(token, full, TRACKING_TOKEN_LEN);
	token[TRACKING_TOKEN_LEN] = '\0';
	tracking_hash_of(token, hash_hex);
}

void tracking_url(const char *reference, char *out, size_t outlen)
{
	char token[TRACKING_TOKEN_LEN + 1], hash[65];
	tracking_token(reference, token, hash);
	snprintf(out, outlen, "%s/t/%s", cfg.public_url, token);
}

int tracking_hash_of(const char *token, char hash_hex[65])
{
	unsigned char digest[CRYPTO_SHA256_LEN];
	if (strlen(token) != TRACKING_TOKEN_LEN || strspn(token, TRACKING_ALPHABET) != TRACKING_TOKEN_LEN)
		return -1;
	crypto_sha256(token, TRACKING_TOKEN_LEN, digest);
	crypto_hex(digest, sizeof digest, hash_hex);
	return 0;
}
