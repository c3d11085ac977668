#include "scheduler/sms.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define SMS_REPLY_LIMIT     65536 /* bytes of a gateway reply kept */
#define SMS_LEASE_MARGIN_MS 1000

struct sms_sender {
	CURL *curl;
	buf_t reply;
	char worker[96];
	int http;
};

/* ---- pure parts ---- */

static void sms_copy(char *out, size_t outlen, const char *s)
{
	if (outlen)
		snprintf(out, outlen, "%s", s ? s : "");
}

/* The gateway's own words for an error: {"error": {"code", "message"}}, {"error": "..."},
 * {"code", "message"}, or the start of the text. */
static void sms_gateway_error(const char *body, long status, char *error, size_t errlen)
{
	json_t *j = body && *body ? json_loads(body, 0, NULL) : NULL;
	json_t *e = j ? json_object_get(j, "error") : NULL;
	const char *code = NULL, *message = NULL;
	if (json_is_object(e)) {
		code = json_string_value(json_object_get(e, "code"));
		message = json_string_value(json_object_get(e, "message"));
	} else if (json_is_string(e)) {
		message = json_string_value(e);
	} else if (j) {
		code = json_string_value(json_object_get(j, "code"));
		message = json_string_value(json_object_get(j, "message"));
	}
	if (code || message)
		snprintf(error, errlen, "gateway %ld: %s%s%s", status, code ? code : "", code && message ? " " : "",
		         message ? message : "");
	else
		snprintf(error, errlen, "gateway %ld: %.80s", status, body ? body : "");
	/* Keep the text printable for logs and the officers' view. */
	for (char *p = error; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	json_decref(j);
}

enum sms_outcome sms_classify(long http_status, const char *transport_error, const char *body, char *gateway_id,
                              size_t idlen, char *error, size_t errlen)
{
	sms_copy(gateway_id, idlen, "");
	sms_copy(error, errlen, "");
	if (http_status == 0) {
		snprintf(error, errlen, "transport: %s", transport_error ? transport_error : "no reply");
		return SMS_RETRY;
	}
	if (http_status >= 200 && http_status < 300) {
		json_t *j = body && *body ? json_loads(body, 0, NULL) : NULL;
		const char *id = j ? json_string_value(json_object_get(j, "id")) : NULL;
		if (!id && j)
			id = json_string_value(json_object_get(j, "message_id"));
		if (id && strlen(id) < idlen &&
		    strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:") == strlen(id))
			sms_copy(gateway_id, idlen, id);
		json_decref(j);
		return SMS_SENT;
	}
	sms_gateway_error(body, http_status, error, errlen);
	/* Timeouts, throttling, server trouble and a refused API key (configuration, fixed
	 * by an operator) are transient; any other 4xx (DLT template, header, number) is not. */
	if (http_status == 408 || http_status == 425 || http_status == 429 || http_status >= 500 ||
	    http_status == 401 || http_status == 403)
		return SMS_RETRY;
	return SMS_FAILED;
}

int64_t sms_backoff_us(int attempts, uint32_t random)
{
	int64_t d = SMS_BACKOFF_BASE_US;
	for (int i = 1; i < attempts && d < SMS_BACKOFF_CAP_US; i++)
		d *= 2;
	if (d > SMS_BACKOFF_CAP_US)
		d = SMS_BACKOFF_CAP_US;
	/* jitter: d x [0.5, 1.5) */
	return d / 2 + (int64_t)((double)d * ((double)random / 4294967296.0));
}

int sms_dlt_template_id(const char *list, const char *template, char *out, size_t outlen)
{
	size_t tl = strlen(template);
	const char *p = list;
	sms_copy(out, outlen, "");
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		while (len && *p == ' ') {
			p++;
			len--;
		}
		const char *eq = memchr(p, '=', len);
		if (eq && (size_t)(eq - p) == tl && strncmp(p, template, tl) == 0) {
			size_t idl = len - tl - 1;
			while (idl && eq[idl] == ' ')
				idl--;
			if (idl + 1 > outlen)
				return -1;
			memcpy(out, eq + 1, idl);
			out[idl] = '\0';
			return 0;
		}
		p = end ? end + 1 : NULL;
	}
	return -1;
}

char *sms_request_json(const struct sms_message *m, const char *dlt_template_id)
{
	int unicode = 0;
	for (const unsigned char *c = (const unsigned char *)m->body; *c; c++)
		if (*c >= 0x80) {
			unicode = 1;
			break;
		}
	json_t *j =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "client_ref", m->id, "to", m->to, "sender",
	              cfg.sms_sender, "entity_id", cfg.sms_dlt_entity_id, "template_id", dlt_template_id, "template",
	              m->template, "language", m->language, "text", m->body, "unicode", unicode);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return text;
}

int sms_signature_ok(const char *secret, const void *body, size_t n, const char *hex_signature)
{
	unsigned char mac[CRYPTO_SHA256_LEN];
	char want[2 * CRYPTO_SHA256_LEN + 1], got[2 * CRYPTO_SHA256_LEN + 1];
	if (!secret || !*secret || !hex_signature || strlen(hex_signature) != 2 * CRYPTO_SHA256_LEN)
		return 0;
	for (size_t i = 0; i < 2 * CRYPTO_SHA256_LEN; i++)
		got[i] = (char)tolower((unsigned char)hex_signature[i]);
	got[2 * CRYPTO_SHA256_LEN] = '\0';
	crypto_hmac_sha256(secret, strlen(secret), body, n, mac);
	crypto_hex(mac, sizeof mac, want);
	return crypto_equal(want, got, 2 * CRYPTO_SHA256_LEN);
}

/* ---- the http driver ---- */

static size_t sms_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	buf_t *b = userdata;
	size_t n = size * nmemb;
	/* A reply larger than the limit is cut, not an error: only its start matters. */
	if (b->len < b->limit)
		buf_append(b, data, n < b->limit - b->len ? n : b->limit - b->len - 1);
	return n;
}

static int sms_header_ok(const char *v)
{
	return strpbrk(v, "\r\n") == NULL;
}

static enum sms_outcome sms_http_send(struct sms_sender *s, const struct sms_message *m, char *gateway_id, size_t idlen,
                                      char *error, size_t errlen)
{
	char dlt[64], key_header[300], idem[80];
	struct curl_slist *headers = NULL;
	long status = 0;
	enum sms_outcome out = SMS_RETRY;
	char *payload = NULL;

	if (!s->curl)
		s->curl = curl_easy_init();
	if (!s->curl) {
		snprintf(error, errlen, "transport: curl_easy_init failed");
		return SMS_RETRY;
	}
	sms_dlt_template_id(cfg.sms_dlt_templates, m->template, dlt, sizeof dlt);
	payload = sms_request_json(m, dlt);
	if (!payload) {
		snprintf(error, errlen, "the request could not be encoded");
		return SMS_FAILED;
	}
	snprintf(idem, sizeof idem, "Idempotency-Key: mitan-sms-%s", m->id);
	headers = curl_slist_append(headers, "Content-Type: application/json; charset=utf-8");
	headers = curl_slist_append(headers, idem);
	if (cfg.sms_api_key[0]) {
		snprintf(key_header, sizeof key_header, "%s: %s", cfg.sms_api_key_header, cfg.sms_api_key);
		headers = curl_slist_append(headers, key_header);
	}
	buf_reset(&s->reply);
	CURL *c = s->curl;
	long timeout = cfg.sms_timeout_ms;
	curl_easy_setopt(c, CURLOPT_URL, cfg.sms_url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout < 3000 ? timeout : 3000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sms_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s->reply);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mitan-sms/1");
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	out = sms_classify(rc == CURLE_OK ? status : 0, curl_easy_strerror(rc), s->reply.data, gateway_id, idlen, error,
	                   errlen);
	/* Do not keep a pointer to the payload or the header list in the handle. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(headers);
	free(payload);
	return out;
}

/* ---- the sender ---- */

struct sms_sender *sms_sender_new(const char *worker_id)
{
	struct sms_sender *s = xcalloc(1, sizeof *s);
	buf_init(&s->reply, SMS_REPLY_LIMIT);
	sms_copy(s->worker, sizeof s->worker, worker_id);
	s->http = strcmp(cfg.sms_driver, "http") == 0;
	if (s->http && (!cfg.sms_url[0] || !sms_header_ok(cfg.sms_api_key) || !sms_header_ok(cfg.sms_api_key_header)))
		log_error(
		    "sms: driver http needs MITAN_SMS_URL (and header values without line breaks); messages wait");
	return s;
}

void sms_sender_free(struct sms_sender *s)
{
	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	buf_free(&s->reply);
	free(s);
}

static void sms_send_one(struct sms_sender *s, const struct sms_message *m, json_t *results)
{
	char gateway_id[80], error[240], retry_at[CLOCK_TEXT_LEN];
	unsigned char rnd[4];
	enum sms_outcome out;

	if (!s->http) {
		out = SMS_SENT;
		snprintf(gateway_id, sizeof gateway_id, "log-%s", m->id);
		error[0] = '\0';
		log_debug("sms: %s (%s, %s) recorded by the log driver", m->id, m->template, m->language);
	} else if (!cfg.sms_url[0] || !sms_header_ok(cfg.sms_api_key) || !sms_header_ok(cfg.sms_api_key_header)) {
		out = SMS_RETRY;
		gateway_id[0] = '\0';
		snprintf(error, sizeof error, "the http driver is not configured (MITAN_SMS_URL)");
	} else {
		out = sms_http_send(s, m, gateway_id, sizeof gateway_id, error, sizeof error);
	}
	if (out == SMS_RETRY && m->attempts >= SMS_MAX_ATTEMPTS) {
		char last[240];
		snprintf(last, sizeof last, "%s", error);
		snprintf(error, sizeof error, "gave up after %d attempts: %.200s", m->attempts, last);
		out = SMS_FAILED;
	}
	json_t *r = json_pack("{s:s, s:s}", "id", m->id, "outcome",
	                      out == SMS_SENT     ? "sent"
	                      : out == SMS_FAILED ? "failed"
	                                          : "retry");
	if (gateway_id[0])
		json_object_set_new(r, "gateway_id", json_string(gateway_id));
	if (error[0])
		json_object_set_new(r, "error", json_string(error));
	if (out == SMS_RETRY) {
		crypto_random(rnd, sizeof rnd);
		uint32_t v = (uint32_t)rnd[0] << 24 | (uint32_t)rnd[1] << 16 | (uint32_t)rnd[2] << 8 | rnd[3];
		clock_format(clock_now_us() + sms_backoff_us(m->attempts, v), retry_at, sizeof retry_at);
		json_object_set_new(r, "retry_at", json_string(retry_at));
	}
	json_array_append_new(results, r);
	if (out == SMS_SENT) {
		metrics_count("mitan_sms_sent_total", 1);
	} else if (out == SMS_FAILED) {
		metrics_count("mitan_sms_failed_total", 1);
		log_warn("sms: %s (%s) failed for good: %s", m->id, m->template, error);
	} else {
		metrics_count("mitan_sms_retried_total", 1);
		log_info("sms: %s (%s) attempt %d will be retried: %s", m->id, m->template, m->attempts, error);
	}
}

int sms_deliver_batch(struct sms_sender *s)
{
	static const char q_claim[] = "SELECT id, dedupe_key, to_phone, template, language, body, attempts "
	                              "FROM sms_claim($1, $2, $3, $4::bigint * interval '1 millisecond', $5)";
	static const char q_record[] = "SELECT sms_record($1, $2, $3::jsonb, $4)";
	char now[CLOCK_TEXT_LEN], batch[16], step[24], per_hour[16];
	enum db_status st;
	int n = -1;
	json_t *results = json_array();
	char *text = NULL;

	clock_now_text(now, sizeof now);
	snprintf(batch, sizeof batch, "%d", SMS_BATCH);
	snprintf(step, sizeof step, "%ld", s->http ? cfg.sms_timeout_ms + SMS_LEASE_MARGIN_MS : SMS_LEASE_MARGIN_MS);
	snprintf(per_hour, sizeof per_hour, "%ld", cfg.sms_per_phone_per_hour);
	const char *cp[] = {now, s->worker, batch, step, per_hour};
	PGresult *res = db_exec(q_claim, 5, cp, &st);
	if (st != DB_OK)
		goto out;
	n = PQntuples(res);
	db_release(); /* no pooled connection is held while the gateway is called */
	for (int i = 0; i < n; i++) {
		struct sms_message m = {
		    .id = db_get(res, i, 0),
		    .dedupe_key = db_get(res, i, 1),
		    .to = db_get(res, i, 2),
		    .template = db_get(res, i, 3),
		    .language = db_get(res, i, 4),
		    .body = db_get(res, i, 5),
		    .attempts = (int)db_get_ll(res, i, 6),
		};
		sms_send_one(s, &m, results);
	}
	if (n == 0)
		goto out;
	text = json_dumps(results, JSON_COMPACT);
	clock_now_text(now, sizeof now);
	const char *rp[] = {now, s->worker, text, s->http ? "true" : "false"};
	/* If this fails the leases run out and the messages are sent again: the gateway
	 * sees the same Idempotency-Key and client_ref. */
	st = db_run(q_record, 4, rp);
	if (st != DB_OK) {
		log_error("sms: recording %d results failed", n);
		n = -1;
	}
out:
	PQclear(res);
	free(text);
	json_decref(results);
	return n;
}
