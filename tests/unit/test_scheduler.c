/* Unit tests of the scheduler's pure parts: what a gateway reply means, the retry backoff,
 * DLT template ids, the gateway request and delivery-report signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "config.h"
#include "crypto.h"
#include "scheduler/sms.h"

static void test_classify_success(void **state)
{
	char id[80], err[200];
	(void)state;
	assert_int_equal(
	    sms_classify(200, NULL, "{\"id\":\"gw-42\",\"status\":\"accepted\"}", id, sizeof id, err, sizeof err),
	    SMS_SENT);
	assert_string_equal(id, "gw-42");
	assert_string_equal(err, "");
	assert_int_equal(sms_classify(202, NULL, "{\"message_id\":\"abc.1\"}", id, sizeof id, err, sizeof err),
	                 SMS_SENT);
	assert_string_equal(id, "abc.1");
	/* A 2xx without JSON is still sent; an id with odd characters is not kept. */
	assert_int_equal(sms_classify(200, NULL, "OK", id, sizeof id, err, sizeof err), SMS_SENT);
	assert_string_equal(id, "");
	assert_int_equal(sms_classify(200, NULL, "{\"id\":\"a b'; --\"}", id, sizeof id, err, sizeof err), SMS_SENT);
	assert_string_equal(id, "");
	assert_int_equal(sms_classify(200, NULL, NULL, id, sizeof id, err, sizeof err), SMS_SENT);
}

static void test_classify_failures(void **state)
{
	char id[80], err[200];
	(void)state;
	/* Transport errors and server trouble: retried. */
	assert_int_equal(sms_classify(0, "Timeout was reached", NULL, id, sizeof id, err, sizeof err), SMS_RETRY);
	assert_string_equal(err, "transport: Timeout was reached");
	assert_int_equal(sms_classify(503, NULL, "{\"error\":{\"code\":\"UNAVAILABLE\",\"message\":\"later\"}}", id,
	                              sizeof id, err, sizeof err),
	                 SMS_RETRY);
	assert_string_equal(err, "gateway 503: UNAVAILABLE later");
	assert_int_equal(sms_classify(429, NULL, "slow down", id, sizeof id, err, sizeof err), SMS_RETRY);
	assert_int_equal(sms_classify(408, NULL, "", id, sizeof id, err, sizeof err), SMS_RETRY);
	assert_int_equal(sms_classify(401, NULL, "{\"error\":\"bad key\"}", id, sizeof id, err, sizeof err), SMS_RETRY);
	assert_string_equal(err, "gateway 401: bad key");
	/* DLT and other request errors: permanent. */
	assert_int_equal(
	    sms_classify(400, NULL, "{\"error\":{\"code\":\"DLT_TEMPLATE_MISMATCH\"}}", id, sizeof id, err, sizeof err),
	    SMS_FAILED);
	assert_string_equal(err, "gateway 400: DLT_TEMPLATE_MISMATCH");
	assert_int_equal(sms_classify(422, NULL, "{\"code\":\"HEADER_NOT_REGISTERED\",\"message\":\"sender\"}", id,
	                              sizeof id, err, sizeof err),
	                 SMS_FAILED);
	assert_string_equal(err, "gateway 422: HEADER_NOT_REGISTERED sender");
	/* Control characters from a gateway never reach logs or the officers' view. */
	assert_int_equal(sms_classify(400, NULL, "bad\nnumber\r", id, sizeof id, err, sizeof err), SMS_FAILED);
	assert_null(strpbrk(err, "\r\n"));
	/* Small buffers are not overrun. */
	char tiny[8];
	sms_classify(400, NULL, "{\"error\":{\"code\":\"A_VERY_LONG_ERROR_CODE\"}}", id, sizeof id, tiny, sizeof tiny);
	assert_int_equal(strlen(tiny), 7);
}

static void test_backoff_grows_with_jitter_and_cap(void **state)
{
	(void)state;
	for (int a = 1; a <= 20; a++) {
		int64_t lo = sms_backoff_us(a, 0), hi = sms_backoff_us(a, UINT32_MAX);
		int64_t base = SMS_BACKOFF_BASE_US << (a - 1 < 11 ? a - 1 : 11);
		if (base > SMS_BACKOFF_CAP_US)
			base = SMS_BACKOFF_CAP_US;
		assert_true(lo == base / 2);
		assert_true(hi < base + base / 2 && hi > base + base / 2 - base / 1000);
	}
	assert_true(sms_backoff_us(1, 0) == 500000);         /* first retry: 0.5–1.5 s */
	assert_true(sms_backoff_us(3, 1u << 31) == 4000000); /* the middle of the jitter */
	assert_true(sms_backoff_us(40, UINT32_MAX) < SMS_BACKOFF_CAP_US * 3 / 2);
	/* The sum of all waits before giving up is hours, not minutes. */
	int64_t total = 0;
	for (int a = 1; a < SMS_MAX_ATTEMPTS; a++)
		total += sms_backoff_us(a, 1u << 31);
	assert_true(total > 2LL * 3600 * 1000000);
}

static void test_dlt_template_ids(void **state)
{
	char id[32];
	const char *list = "otp=1107000000000001, visit_day=1107000000000043 ,booking_status=1107000000000042";
	(void)state;
	assert_int_equal(sms_dlt_template_id(list, "otp", id, sizeof id), 0);
	assert_string_equal(id, "1107000000000001");
	assert_int_equal(sms_dlt_template_id(list, "visit_day", id, sizeof id), 0);
	assert_string_equal(id, "1107000000000043");
	assert_int_equal(sms_dlt_template_id(list, "booking_status", id, sizeof id), 0);
	assert_string_equal(id, "1107000000000042");
	assert_int_not_equal(sms_dlt_template_id(list, "visit", id, sizeof id), 0); /* no prefix matches */
	assert_string_equal(id, "");
	assert_int_not_equal(sms_dlt_template_id("", "otp", id, sizeof id), 0);
	char small[4];
	assert_int_not_equal(sms_dlt_template_id(list, "otp", small, sizeof small), 0);
}

static void test_request_json(void **state)
{
	char err[256];
	(void)state;
	assert_int_equal(config_load(NULL, err, sizeof err), 0);
	struct sms_message m = {
	    "17", "visit_day:MT-1:2:2026-11-24", "+919812345678", "visit_day", "hi", "मितान: आज Ramesh \"Sahu\" आएंगे",
	    1};
	char *text = sms_request_json(&m, "1107000000000043");
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "client_ref")), "17");
	assert_string_equal(json_string_value(json_object_get(j, "to")), "+919812345678");
	assert_string_equal(json_string_value(json_object_get(j, "template_id")), "1107000000000043");
	assert_string_equal(json_string_value(json_object_get(j, "text")), m.body);
	assert_string_equal(json_string_value(json_object_get(j, "sender")), cfg.sms_sender);
	assert_true(json_is_true(json_object_get(j, "unicode")));
	json_decref(j);
	free(text);
	m.body = "Mitan: today Ramesh Sahu will visit.";
	text = sms_request_json(&m, "");
	j = json_loads(text, 0, &jerr);
	assert_true(json_is_false(json_object_get(j, "unicode")));
	json_decref(j);
	free(text);
	config_free();
}

static void test_signature(void **state)
{
	const char *body = "{\"client_ref\":\"5\",\"status\":\"delivered\"}";
	unsigned char mac[CRYPTO_SHA256_LEN];
	char hex[65];
	(void)state;
	crypto_hmac_sha256("k3y", 3, body, strlen(body), mac);
	crypto_hex(mac, sizeof mac, hex);
	assert_true(sms_signature_ok("k3y", body, strlen(body), hex));
	for (char *p = hex; *p; p++) /* upper-case hex is the same signature */
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	assert_true(sms_signature_ok("k3y", body, strlen(body), hex));
	assert_false(sms_signature_ok("k3y", body, strlen(body) - 1, hex));
	assert_false(sms_signature_ok("other", body, strlen(body), hex));
	assert_false(sms_signature_ok("", body, strlen(body), hex)); /* no secret: nothing is signed */
	assert_false(sms_signature_ok("k3y", body, strlen(body), NULL));
	assert_false(sms_signature_ok("k3y", body, strlen(body), "abc"));
	hex[63] = '\0';
	assert_false(sms_signature_ok("k3y", body, strlen(body), hex));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classify_success),
	    cmocka_unit_test(test_classify_failures),
	    cmocka_unit_test(test_backoff_grows_with_jitter_and_cap),
	    cmocka_unit_test(test_dlt_template_ids),
	    cmocka_unit_test(test_request_json),
	    cmocka_unit_test(test_signature),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
