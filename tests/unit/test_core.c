/* Unit tests of core/ and of the pure parts of dispatch/ (no server, no database). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "account/account.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "http.h"
#include "booking/slots.h"
#include "util.h"

static void test_rfc3339_parses_offsets(void **state)
{
	int64_t a, b, c;
	(void)state;
	assert_int_equal(clock_parse_rfc3339("2026-11-24T09:00:00+05:30", &a), 0);
	assert_int_equal(clock_parse_rfc3339("2026-11-24T03:30:00Z", &b), 0);
	assert_int_equal(clock_parse_rfc3339("2026-11-23T22:30:00.000-05:00", &c), 0);
	assert_true(a == b && b == c);
	assert_int_equal(a, (int64_t)1795491000 * 1000000);
	assert_int_equal(clock_parse_rfc3339("2026-11-24T03:30:00.25Z", &b), 0);
	assert_int_equal(b - a, 250000);
}

static void test_rfc3339_refuses_junk(void **state)
{
	int64_t t;
	const char *bad[] = {"",
	                     "2026-11-24",
	                     "2026-11-24T09:00:00",
	                     "2026-02-31T09:00:00Z",
	                     "2026-13-01T00:00:00Z",
	                     "2026-11-24T25:00:00Z",
	                     "2026-11-24T09:00:00+5:30",
	                     "2026-11-24T09:00:00Zjunk",
	                     "2026-11-24T09:00:00.Z",
	                     "1900-01-01T00:00:00Z",
	                     "'; DROP TABLE booking;--"};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_not_equal(clock_parse_rfc3339(bad[i], &t), 0);
}

static void test_clock_set_and_format(void **state)
{
	char text[CLOCK_TEXT_LEN];
	int64_t t;
	(void)state;
	assert_int_equal(clock_set("2030-01-02T03:04:05Z"), 0);
	clock_now_text(text, sizeof text);
	assert_memory_equal(text, "2030-01-02T03:04:0", 18); /* the clock goes on from there */
	assert_int_equal(clock_parse_rfc3339(text, &t), 0);
	clock_format((int64_t)1795491000 * 1000000 + 7, text, sizeof text);
	assert_string_equal(text, "2026-11-24T03:30:00.000007Z");
	assert_int_not_equal(clock_set("yesterday"), 0);
}

static void test_base64url_and_hex(void **state)
{
	char out[64];
	(void)state;
	crypto_base64url((const unsigned char *)"\xfb\xff\xfe", 3, out);
	assert_string_equal(out, "-__-");
	crypto_base64url((const unsigned char *)"ab", 2, out);
	assert_string_equal(out, "YWI");
	crypto_hex((const unsigned char *)"\x00\xff\x10", 3, out);
	assert_string_equal(out, "00ff10");
}

static void test_passwords(void **state)
{
	char hash[160];
	(void)state;
	assert_int_equal(crypto_password_hash("correct horse", 1000, hash, sizeof hash), 0);
	assert_non_null(strstr(hash, "pbkdf2-sha256$1000$"));
	assert_true(crypto_password_verify("correct horse", hash));
	assert_false(crypto_password_verify("correct horsf", hash));
	assert_false(crypto_password_verify("correct horse", "pbkdf2-sha256$1000$$"));
	assert_false(crypto_password_verify("x", "plain"));
	assert_false(crypto_password_verify("x", "pbkdf2-sha256$10$AAAA$AAAA")); /* too few iterations */
}

static void test_references_and_tokens_are_random(void **state)
{
	char a[18], b[18], t1[CRYPTO_TOKEN_LEN], t2[CRYPTO_TOKEN_LEN], digits[8];
	unsigned char h1[32], h2[32];
	(void)state;
	assert_int_equal(crypto_reference(a), 0);
	assert_int_equal(crypto_reference(b), 0);
	assert_int_equal(strlen(a), 17);
	assert_memory_equal(a, "MT-", 3);
	assert_true(a[7] == '-' && a[12] == '-');
	assert_string_not_equal(a, b);
	assert_int_equal(strspn(a + 3, "0123456789ABCDEFGHJKMNPQRSTVWXYZ-"), 14);
	assert_int_equal(crypto_token(t1, h1), 0);
	assert_int_equal(crypto_token(t2, h2), 0);
	assert_int_equal(strlen(t1), 43);
	assert_string_not_equal(t1, t2);
	assert_int_equal(crypto_digits(digits, 6), 0);
	assert_int_equal(strspn(digits, "0123456789"), 6);
	assert_int_equal(strlen(digits), 6);
}

static void test_buf_respects_its_limit(void **state)
{
	buf_t b;
	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "12345"), 0);
	assert_int_equal(buf_puts(&b, "6789"), -1);
	assert_string_equal(b.data, "12345");
	assert_int_equal(buf_printf(&b, "%d", 678), 0);
	assert_string_equal(b.data, "12345678");
	buf_reset(&b);
	assert_int_equal(buf_put_html(&b, "<a&"), -1); /* would need 10 bytes */
	buf_free(&b);
	buf_init(&b, 0);
	assert_int_equal(buf_put_html(&b, "<b>\"x\"&'"), 0);
	assert_string_equal(b.data, "&lt;b&gt;&quot;x&quot;&amp;&#39;");
	buf_free(&b);
}

static void test_parse_numbers(void **state)
{
	long v;
	double d;
	(void)state;
	assert_int_equal(parse_long("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_not_equal(parse_long("101", 0, 100, &v), 0);
	assert_int_not_equal(parse_long("4x", 0, 100, &v), 0);
	assert_int_not_equal(parse_long("", 0, 100, &v), 0);
	assert_int_not_equal(parse_long("99999999999999999999", 0, 100, &v), 0);
	assert_int_equal(parse_double("21.25", &d), 0);
	assert_int_not_equal(parse_double("nan", &d), 0);
	assert_int_not_equal(parse_double("inf", &d), 0);
	assert_int_not_equal(parse_double("1e999", &d), 0);
}

static void test_json_checks(void **state)
{
	static const char *const allowed[] = {"name", "lat", NULL};
	json_error_t e;
	double lat;
	(void)state;
	json_t *ok = json_loads("{\"name\":\"Kamla Devi\",\"lat\":21.2}", 0, &e);
	struct jv v = {0};
	jv_only(&v, ok, "", allowed);
	assert_string_equal(jv_string(&v, ok, "", "name", 1, 1, 20), "Kamla Devi");
	assert_int_equal(jv_number(&v, ok, "", "lat", 1, -90, 90, &lat), 1);
	assert_false(v.failed);
	json_decref(ok);

	json_t *extra = json_loads("{\"name\":\"x\",\"evil\":1}", 0, &e);
	struct jv v2 = {0};
	jv_only(&v2, extra, "beneficiary", allowed);
	assert_true(v2.failed);
	assert_string_equal(v2.field, "beneficiary.evil");
	json_decref(extra);

	json_t *bad = json_loads("{\"name\":\"a\\u0007b\",\"lat\":\"21\"}", 0, &e);
	struct jv v3 = {0};
	assert_null(jv_string(&v3, bad, "", "name", 1, 1, 20));
	assert_string_equal(v3.message, "must not contain control characters");
	struct jv v4 = {0};
	assert_int_equal(jv_number(&v4, bad, "", "lat", 1, -90, 90, &lat), 0);
	assert_string_equal(v4.message, "must be a number");
	json_decref(bad);

	/* Lengths count characters, not bytes: 5 Devanagari letters fit a limit of 5. */
	json_t *hi = json_loads("{\"name\":\"\xe0\xa4\x95\xe0\xa4\xae\xe0\xa4\xb2\xe0\xa4\xbe\xe0\xa4\x81\"}", 0, &e);
	struct jv v5 = {0};
	assert_non_null(jv_string(&v5, hi, "", "name", 1, 1, 5));
	json_decref(hi);

	struct jv v6 = {0};
	assert_null(jv_string(&v6, NULL, "", "name", 1, 1, 5));
	assert_string_equal(v6.message, "is required");
}

static int test_upper(const char *s)
{
	return s[0] >= 'A' && s[0] <= 'Z';
}

/* The table kinds a body may need besides strings, numbers and objects. */
static void test_json_table_kinds(void **state)
{
	static const char *const colours[] = {"red", "green", "blue", NULL};
	const char *note = NULL, *colour = NULL;
	json_t *tags = NULL;
	const struct jv_field table[] = {
	    JV_TXT("note", 1, 5, &note),
	    JV_ONE_OF("colour", 0, colours, &colour),
	    JV_ARR_OK("tags", 0, 2, test_upper, "must start with a capital", &tags),
	    JV_END,
	};
	struct {
		const char *body, *field, *message;
	} cases[] = {
	    {"{\"note\":\"a\\nb\",\"colour\":\"green\",\"tags\":[\"A\",\"B\"]}", NULL, NULL},
	    {"{\"note\":\" \\n\\t \"}", "note", "must be 1 to 5 characters long, not only blanks"},
	    {"{\"note\":\"a\\u0007\"}", "note", "must not contain control characters other than line breaks"},
	    {"{\"note\":\"x\",\"colour\":\"pink\"}", "colour", "must be red, green or blue"},
	    {"{\"note\":\"x\",\"tags\":[\"A\",\"B\",\"C\"]}", "tags", "must be a list of at most 2 values"},
	    {"{\"note\":\"x\",\"tags\":[\"a\"]}", "tags", "each must start with a capital"},
	    {"{\"note\":\"x\",\"tags\":\"A\"}", "tags", "must be a list of at most 2 values"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_error_t e;
		struct jv v = {0};
		json_t *body = json_loads(cases[i].body, 0, &e);
		assert_non_null(body);
		int rc = jv_check(&v, body, "", table);
		if (cases[i].field) {
			assert_int_equal(rc, -1);
			assert_string_equal(v.field, cases[i].field);
			assert_string_equal(v.message, cases[i].message);
		} else {
			assert_int_equal(rc, 0);
			assert_string_equal(note, "a\nb");
			assert_string_equal(colour, "green");
			assert_int_equal(json_array_size(tags), 2);
		}
		json_decref(body);
	}
}

/* Names and notes in Hindi and Punjabi keep the joiners their spelling needs; every
 * invisible or direction-changing character, control character and bad UTF-8 is refused. */
static void test_text_refuses_invisible_and_direction_changing(void **state)
{
	static const char *const clean[] = {
	    "Kamla Devi",
	    "\u0930\u0915\u094d\u200d\u0937\u093e",                   /* Hindi rakshaa, ZWJ: half form */
	    "\u0915\u094d\u200c\u0937\u0924\u094d\u0930\u093f\u092f", /* Hindi kshatriya, ZWNJ: explicit virama */
	    "\u0a15\u0a4d\u200d\u0a30\u0a3f\u0a2a\u0a3e",             /* Punjabi kirpaa, ZWJ */
	    "\u0a38\u0a4d\u200c\u0a35\u0a30",                         /* Punjabi svar, ZWNJ */
	    "\u0915\u092e\u0932\u093e \u0926\u0947\u0935\u0940",      /* no joiner at all */
	    "caf\u00e9 \U0001f642",                                   /* two-, and four-byte characters */
	};
	static const char *const invisible[] = {
	    "a\u202ab",
	    "a\u202bb",
	    "a\u202cb",
	    "a\u202db",
	    "a\u202eb", /* embeddings, pop, overrides */
	    "a\u2066b",
	    "a\u2067b",
	    "a\u2068b",
	    "a\u2069b", /* isolates */
	    "a\u200eb",
	    "a\u200fb", /* LRM, RLM */
	    "a\u200bb",
	    "a\ufeffb",
	    "a\u2060b", /* zero width space, BOM, word joiner */
	    "a\u00adb",
	    "a\u061cb",
	    "a\u2028b",
	    "a\U000e0041b", /* soft hyphen, ALM, line separator, tag */
	    "a\u200db",
	    "\u200d\u0915",
	    "\u0915\u200d",             /* a joiner not between two Indic letters */
	    "\u0915\u094d\u200d\u0a30", /* nor between two scripts */
	    "\u0915\u200d\u200d\u0937", /* nor next to another joiner */
	};
	static const char *const control[] = {"a\x01", "a\x7f", "a\xc2\x85", "a\nb"};
	static const char *const not_utf8[] = {"\x80",         "\xc0\xaf",         "\xe0\xa4",
	                                       "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\xff"};
	(void)state;
	for (size_t i = 0; i < sizeof clean / sizeof clean[0]; i++) {
		assert_int_equal(text_check(clean[i], 0), TEXT_CLEAN);
		assert_true(text_is_clean(clean[i]));
	}
	for (size_t i = 0; i < sizeof invisible / sizeof invisible[0]; i++) {
		assert_int_equal(text_check(invisible[i], 1), TEXT_INVISIBLE);
		assert_false(text_is_clean(invisible[i]));
	}
	for (size_t i = 0; i < sizeof control / sizeof control[0]; i++)
		assert_int_equal(text_check(control[i], 0), TEXT_CONTROL);
	assert_int_equal(text_check("a\nb\tc", 1), TEXT_CLEAN);
	for (size_t i = 0; i < sizeof not_utf8 / sizeof not_utf8[0]; i++)
		assert_int_equal(text_check(not_utf8[i], 1), TEXT_NOT_UTF8);

	/* Every body string goes through it: a name with an override is refused by name. */
	json_error_t e;
	json_t *body = json_loads("{\"name\":\"Kamla \\u202eived\",\"note\":\"ok\\u200b\"}", 0, &e);
	const char *note = NULL;
	const struct jv_field table[] = {JV_TXT("note", 1, 50, &note), JV_END};
	struct jv v = {0}, v2 = {0};
	assert_null(jv_string(&v, body, "beneficiary", "name", 1, 1, 100));
	assert_string_equal(v.field, "beneficiary.name");
	assert_string_equal(v.message, "must not contain invisible or direction-changing characters");
	json_object_del(body, "name");
	assert_int_equal(jv_check(&v2, body, "", table), -1);
	assert_string_equal(v2.field, "note");
	assert_string_equal(v2.message, TEXT_INVISIBLE_MESSAGE);
	json_decref(body);
}

static void test_phones_and_dates(void **state)
{
	(void)state;
	assert_true(account_phone_valid("+919876543210"));
	assert_true(account_phone_valid("+14155550100"));
	assert_false(account_phone_valid("9876543210"));
	assert_false(account_phone_valid("+0123456789"));
	assert_false(account_phone_valid("+91 98765 43210"));
	assert_false(account_phone_valid("+9198765432101234"));
	assert_true(clock_date_valid("2026-11-24"));
	assert_true(clock_date_valid("2028-02-29"));
	assert_false(clock_date_valid("2026-02-30"));
	assert_false(clock_date_valid("2026-13-45"));
	assert_false(clock_date_valid("24-11-2026"));
	assert_false(clock_date_valid("2026-1-245"));
	assert_true(clock_hhmm_valid("09:00"));
	assert_true(clock_hhmm_valid("23:59"));
	assert_false(clock_hhmm_valid("29:00"));
	assert_false(clock_hhmm_valid("09:60"));
	assert_false(clock_hhmm_valid("9:00"));
	assert_false(clock_hhmm_valid("09:0:"));
}

static void test_config_names_the_bad_setting(void **state)
{
	char err[256];
	(void)state;
	setenv("MITAN_PORT", "80a", 1);
	assert_int_equal(config_load(NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "MITAN_PORT"));
	setenv("MITAN_PORT", "9090", 1);
	setenv("MITAN_SMS_DRIVER", "carrier-pigeon", 1);
	assert_int_equal(config_load(NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "log|http"));
	unsetenv("MITAN_SMS_DRIVER");
	setenv("MITAN_ENV", "prod", 1);
	setenv("MITAN_NOW", "2026-11-24T07:05:00+05:30", 1);
	/* Loaded, so that check-config can show it; refused in prod by serve and worker. */
	assert_int_equal(config_load(NULL, err, sizeof err), 0);
	char *listing = NULL;
	size_t listing_len = 0;
	FILE *f = open_memstream(&listing, &listing_len);
	assert_true(config_unsafe(f, "unsafe: ") > 0);
	fclose(f);
	assert_non_null(strstr(listing, "unsafe: MITAN_NOW is set"));
	assert_non_null(strstr(listing, "unsafe: MITAN_SMS_DRIVER is log"));
	free(listing);
	unsetenv("MITAN_NOW");
	assert_int_equal(config_load(NULL, err, sizeof err), 0);
	assert_int_equal(cfg.port, 9090);
	assert_string_equal(cfg.public_url, "http://127.0.0.1:9090");
	unsetenv("MITAN_PORT");
	unsetenv("MITAN_ENV");
	config_free();
}

static void test_config_doubles_are_typed_and_bounded(void **state)
{
	char err[256];
	char path[] = "/tmp/mitan-test-config.XXXXXX";
	(void)state;
	assert_int_equal(config_load(NULL, err, sizeof err), 0);
	assert_true(cfg.travel_road_factor == 1.4); /* the defaults */
	assert_true(cfg.travel_speed_kmh == 18.0);

	setenv("MITAN_TRAVEL_ROAD_FACTOR", "1.25", 1);
	setenv("MITAN_TRAVEL_SPEED_KMH", "22.5", 1);
	assert_int_equal(config_load(NULL, err, sizeof err), 0);
	assert_true(cfg.travel_road_factor == 1.25);
	assert_true(cfg.travel_speed_kmh == 22.5);

	/* Not numbers, out of range, or not finite: refused at start-up, naming the setting and the range. */
	const char *bad[] = {"fast", "", "1.4km", "0.5", "0", "-18", "121", "nan", "inf", "1e999"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		setenv("MITAN_TRAVEL_SPEED_KMH", bad[i], 1);
		assert_int_equal(config_load(NULL, err, sizeof err), -1);
		assert_non_null(strstr(err, "MITAN_TRAVEL_SPEED_KMH"));
		assert_non_null(strstr(err, "travel_speed_kmh must be a number from 1 to 120"));
	}
	unsetenv("MITAN_TRAVEL_SPEED_KMH");
	setenv("MITAN_TRAVEL_ROAD_FACTOR", "0.9", 1); /* a road is never shorter than the straight line */
	assert_int_equal(config_load(NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "travel_road_factor must be a number from 1 to 5"));
	unsetenv("MITAN_TRAVEL_ROAD_FACTOR");

	/* The same from a file, with its line named. */
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char text[] = "# planning\ntravel_road_factor = 1.6\ntravel_speed_kmh = 6x\n";
	assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
	close(fd);
	assert_int_equal(config_load(path, err, sizeof err), -1);
	assert_non_null(strstr(err, ":3: travel_speed_kmh must be a number"));
	unlink(path);
	config_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc3339_parses_offsets),
	    cmocka_unit_test(test_rfc3339_refuses_junk),
	    cmocka_unit_test(test_clock_set_and_format),
	    cmocka_unit_test(test_base64url_and_hex),
	    cmocka_unit_test(test_passwords),
	    cmocka_unit_test(test_references_and_tokens_are_random),
	    cmocka_unit_test(test_buf_respects_its_limit),
	    cmocka_unit_test(test_parse_numbers),
	    cmocka_unit_test(test_json_checks),
	    cmocka_unit_test(test_json_table_kinds),
	    cmocka_unit_test(test_text_refuses_invisible_and_direction_changing),
	    cmocka_unit_test(test_phones_and_dates),
	    cmocka_unit_test(test_config_names_the_bad_setting),
	    cmocka_unit_test(test_config_doubles_are_typed_and_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
