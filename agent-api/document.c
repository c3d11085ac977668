#include "agent-api/document.h"

#include <jansson.h>
#include <magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "audit.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "agent-api/docstore.h"
#include "log.h"
#include "util.h"

/* ---- officers' signed links ---- */

/* base64url(HMAC(secret, "document-link", "<doc>.<staff>.<expires>")): 43 characters. */
static void document_sign(const char *doc, const char *staff, long long expires, char sig[48])
{
	char msg[96];
	unsigned char mac[CRYPTO_SHA256_LEN];
	int n = snprintf(msg, sizeof msg, "%s.%s.%lld", doc, staff, expires);
	crypto_secret_hmac("document-link", msg, (size_t)n, mac);
	crypto_base64url(mac, sizeof mac, sig);
}

void document_link(struct http_req *r)
{
	static const char sql[] =
	    "SELECT dc.id, dc.document_code, encode(dc.sha256, 'hex') AS sha256, dc.size, dc.media_type, dc.filename, "
	    "       dc.district_id, rfc3339(dc.uploaded_at, d.time_zone) AS uploaded_at "
	    "FROM document dc JOIN booking b ON b.id = dc.booking_id JOIN district d ON d.id = b.district_id "
	    "WHERE b.reference = $1 AND dc.document_code = $2 AND ($3::int = 0 OR b.district_id = $3::int) "
	    "  AND ($4::bigint IS NULL OR dc.id = $4::bigint) "
	    "ORDER BY dc.id DESC LIMIT 1";
	struct db_args a = {0};
	char staff[24], idq[24], sig[48], url[600], expires_at[40], detail[48];
	enum db_status st;
	long idv;
	int has_id = http_query(r, "id", idq, sizeof idq);
	if (has_id < 0 || (has_id == 1 && parse_long(idq, 1, PARSE_EXACT_MAX, &idv) != 0)) {
		http_error_field(r, "id", "must be a document id from the booking's uploads");
		return;
	}
	/* The signed link names the officer it was made for. */
	snprintf(staff, sizeof staff, "%lld", r->auth.id);
	db_arg_text(&a, r->params[0]);
	db_arg_text(&a, r->params[1]);
	db_arg_ll(&a, r->auth.district_id);
	db_arg_text(&a, has_id == 1 ? idq : NULL);
	PGresult *res = db_exec(sql, a.n, a.v, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(res) != 1) {
		http_error(r, 404, "not_found", "no such document of a booking of your district");
		goto out;
	}
	const char *doc = db_col(res, 0, "id");
	long long expires = clock_now_us() / 1000000 + cfg.signed_link_seconds;
	clock_format((int64_t)expires * 1000000, expires_at, sizeof expires_at);
	document_sign(doc, staff, expires, sig);
	snprintf(url, sizeof url, "%s/api/v1/documents/%s?u=%s&expires=%lld&sig=%s", cfg.public_url, doc, staff,
	         expires, sig);
	snprintf(detail, sizeof detail, "{\"expires\": %lld}", expires);
	st = audit_request(r, db_col(res, 0, "district_id"), "document.link", "document", doc, detail);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	http_reply_json(r, 200,
	                json_pack("{s:s, s:s, s:{s:I, s:s, s:s, s:I, s:s, s:s, s:s}}", "url", url, "expires_at",
	                          expires_at, "document", "id", (json_int_t)db_col_ll(res, 0, "id"), "code",
	                          db_col(res, 0, "document_code"), "sha256", db_col(res, 0, "sha256"), "size",
	                          (json_int_t)db_col_ll(res, 0, "size"), "media_type", db_col(res, 0, "media_type"),
	                          "filename", db_col(res, 0, "filename"), "uploaded_at",
	                          db_col(res, 0, "uploaded_at")));
out:
	PQclear(res);
}

struct document_send {
	struct http_req *r;
	struct crypto_digest *digest;
};

static int document_hash_sink(void *ctx, const void *p, size_t n)
{
	crypto_sha256_update(((struct document_send *)ctx)->digest, p, n);
	return 0;
}

static int document_send_sink(void *ctx, const void *p, size_t n)
{
	return http_write(((struct document_send *)ctx)->r, p, n) == 0 ? 0 : 2;
}

void document_view(struct http_req *r)
{
	static const char sql[] =
	    "SELECT dc.storage_key, dc.size, encode(dc.sha256, 'hex') AS sha256, dc.media_type, dc.district_id, "
	    "       b.reference, dc.document_code "
	    "FROM document dc JOIN booking b ON b.id = dc.booking_id "
	    "JOIN staff s ON s.id = $2::int AND s.active AND (s.district_id IS NULL OR s.district_id = dc.district_id) "
	    "WHERE dc.id = $1::bigint";
	/* The link is the credential: the view is attributed to the officer it was made for. */
	static const char q_audit[] =
	    "SELECT audit_write($1, $2, s.role, s.id, 'document.view', 'document', $4, "
	    "                   jsonb_build_object('booking', $5::text, 'code', $6::text, 'client', $7::text)) "
	    "FROM staff s WHERE s.id = $3::int";
	char u[24], expires_text[24], sig[64], want[48], now[40], hex[65], disposition[80];
	unsigned char digest[CRYPTO_SHA256_LEN];
	long idv, staffv, expires;
	enum db_status st;
	PGresult *res = NULL;
	struct document_send ds = {r, NULL};

	if (parse_long(r->params[0], 1, PARSE_EXACT_MAX, &idv) != 0 || http_query(r, "u", u, sizeof u) != 1 ||
	    parse_long(u, 1, 2147483647L, &staffv) != 0 ||
	    http_query(r, "expires", expires_text, sizeof expires_text) != 1 ||
	    parse_long(expires_text, 0, PARSE_EXACT_MAX, &expires) != 0 || http_query(r, "sig", sig, sizeof sig) != 1) {
		http_error(r, 403, "link_invalid", "this document link is not valid");
		goto out;
	}
	document_sign(r->params[0], u, expires, want);
	if (strlen(sig) != strlen(want) || !crypto_equal(sig, want, strlen(want))) {
		http_error(r, 403, "link_invalid", "this document link is not valid");
		goto out;
	}
	if ((long long)expires * 1000000 <= clock_now_us()) {
		http_error(r, 410, "link_expired", "this document link has expired; ask for a new one");
		goto out;
	}
	const char *p[] = {r->params[0], u};
	res = db_exec(sql, 2, p, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(res) != 1) {
		http_error(r, 404, "not_found", "no such document");
		goto out;
	}
	/* Whole-file check before the first byte goes out: a damaged file is never half-sent. */
	ds.digest = crypto_sha256_begin();
	long long size = db_col_ll(res, 0, "size");
	const char *key = db_col(res, 0, "storage_key");
	if (docstore_read(key, size, document_hash_sink, &ds) != 0) {
		http_error(r, 500, "storage_damaged", "the document could not be read back");
		goto out;
	}
	crypto_sha256_end(ds.digest, digest);
	ds.digest = NULL;
	crypto_hex(digest, sizeof digest, hex);
	if (strcmp(hex, db_col(res, 0, "sha256")) != 0) {
		http_error(r, 500, "storage_damaged", "the document does not match its recorded SHA-256");
		goto out;
	}
	/* Every view is audited, and only an audited view is served. */
	clock_now_text(now, sizeof now);
	const char *ap[] = {
	    db_col(res, 0, "district_id"),   now,           u, r->params[0], db_col(res, 0, "reference"),
	    db_col(res, 0, "document_code"), r->client_addr};
	st = db_run(q_audit, 7, ap);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	const char *type = db_col(res, 0, "media_type");
	snprintf(disposition, sizeof disposition, "inline; filename=\"document-%ld.%s\"", idv,
	         strcmp(type, "application/pdf") == 0 ? "pdf"
	         : strcmp(type, "image/png") == 0     ? "png"
	                                              : "jpg");
	const char *h[] = {"Content-Disposition", disposition, "X-Frame-Options", "DENY", NULL};
	http_reply_start(r, 200, type, h, (size_t)size);
	if (strcmp(r->method, "HEAD") != 0 && docstore_read(key, size, document_send_sink, &ds) != 0)
		log_warn("document %s: the reply was cut short", r->params[0]);
out:
	crypto_sha256_free(ds.digest);
	PQclear(res);
}
