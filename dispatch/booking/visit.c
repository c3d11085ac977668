#include "booking/visit.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"

static void visit_code_hash(const char *reference, const char *code, char hash_hex[65])
{
	char msg[64];
	unsigned char mac[CRYPTO_SHA256_LEN];
	int n = snprintf(msg, sizeof msg, "%s:%s", reference, code);
	crypto_secret_hmac("visit", msg, (size_t)n, mac);
	crypto_hex(mac, sizeof mac, hash_hex);
}

int visit_code_new(const char *reference, char code[VISIT_CODE_DIGITS + 1], char hash_hex[65])
{
	if (crypto_digits(code, VISIT_CODE_DIGITS) != 0)
		return -1;
	visit_code_hash(reference, code, hash_hex);
	return 0;
}

int visit_code_matches(const char *reference, const char *code, const char *stored_hex)
{
	char want[65];
	if (!stored_hex || strlen(stored_hex) != 64 || strlen(code) != VISIT_CODE_DIGITS ||
	    strspn(code, "0123456789") != VISIT_CODE_DIGITS)
		return 0;
	visit_code_hash(reference, code, want);
	return crypto_equal(want, stored_hex, 64);
}
