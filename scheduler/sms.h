/* sms: delivery of the sms_outbox. Workers claim due messages with FOR UPDATE SKIP LOCKED
 * (sql/002 sms_claim: a lease per message, the per-phone hourly limit), send them through
 * the configured driver (`log`: recorded as sent without network; `http`: libcurl POST to
 * the gateway) and record the results in one statement. Transient failures are retried
 * with exponential backoff and jitter; permanent ones (DLT errors) become dead letters.
 * libcurl is used here and nowhere else. */
#ifndef MITAN_SMS_H
#define MITAN_SMS_H

#include <stddef.h>
#include <stdint.h>

#define SMS_BATCH           32
#define SMS_MAX_ATTEMPTS    15
#define SMS_BACKOFF_BASE_US 1000000LL    /* first retry after about 1 s */
#define SMS_BACKOFF_CAP_US  1800000000LL /* never more than 30 minutes apart */

enum sms_outcome {
	SMS_SENT,   /* the gateway took the message */
	SMS_RETRY,  /* a transient failure: try again later */
	SMS_FAILED, /* a permanent failure: a dead letter, never retried */
};

/* One claimed message (fields point into the claim's result). */
struct sms_message {
	const char *id;
	const char *dedupe_key;
	const char *to;
	const char *template;
	const char *language;
	const char *body;
	int attempts; /* including this one */
};

/* What a gateway reply means. http_status 0 = no reply (transport error, described by
 * transport_error). Fills gateway_id (may stay empty) and error. Pure. */
enum sms_outcome sms_classify(long http_status, const char *transport_error, const char *body, char *gateway_id,
                              size_t idlen, char *error, size_t errlen);
/* Delay before retry number `attempts` (1 = the first retry): base x 2^(attempts-1),
 * capped, times a jitter in [0.5, 1.5) drawn from `random`. Pure. */
int64_t sms_backoff_us(int attempts, uint32_t random);
/* The DLT template id of `template` in a "template=id,template=id" list; "" when absent.
 * Returns 0 when found. Pure. */
int sms_dlt_template_id(const char *list, const char *template, char *out, size_t outlen);
/* The gateway request body (JSON, malloc'd): client_ref, to, sender, entity_id,
 * template_id, template, text, unicode. Pure apart from the configuration. */
char *sms_request_json(const struct sms_message *m, const char *dlt_template_id);
/* 1 if hex_signature is the HMAC-SHA256 of body under secret (hex, any case). Pure. */
int sms_signature_ok(const char *secret, const void *body, size_t n, const char *hex_signature);

/* A worker's sender: its gateway connection (kept alive between messages). */
struct sms_sender;
struct sms_sender *sms_sender_new(const char *worker_id);
void sms_sender_free(struct sms_sender *s);
/* Claims, sends and records one batch of due messages at the clock's now. Returns how
 * many were claimed (0: nothing due), or -1 when the database failed. */
int sms_deliver_batch(struct sms_sender *s);

#endif
