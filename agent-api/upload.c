#include "agent-api/upload.h"

#include <magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "agent-api/docstore.h"
#include "log.h"
#include "util.h"

#define TUS_VERSION           "1.0.0"
#define UPLOAD_READ_CHUNK     (64 * 1024)
#define UPLOAD_MAGIC_BYTES    (64 * 1024) /* what libmagic sees of the start of a file */
#define UPLOAD_LIFETIME_HOURS 48
#define UPLOAD_METADATA_MAX   2048
#define UPLOAD_CLAIM_TRIES    40 /* × UPLOAD_CLAIM_WAIT_MS: 2 s */
#define UPLOAD_CLAIM_WAIT_MS  50
/* A claim's lease: how long a writer that died keeps others out. */
#define UPLOAD_CLAIM_SECONDS 60
/* A writer renews its lease before touching the file once less than this is left, so every
 * write has at least this long in hand (for a slow disk, and clocks of several servers). */
#define UPLOAD_CLAIM_RENEW_SECONDS 30

/* ---- tus replies ---- */

/* Sends a tus reply with no body: Tus-Resumable plus the given header pairs. */
static void upload_reply(struct http_req *r, int status, const char *const *extra)
{
	const char *headers[16];
	size_t n = 0;
	headers[n++] = "Tus-Resumable";
	headers[n++] = TUS_VERSION;
	for (size_t i = 0; extra && extra[i] && extra[i + 1] && n + 2 < 16; i += 2) {
		headers[n++] = extra[i];
		headers[n++] = extra[i + 1];
	}
	headers[n] = NULL;
	http_reply_headers(r, status, "application/octet-stream", headers, "", 0);
}

/* 412 unless the client speaks tus 1.0.0. */
static int upload_check_version_or_reply(struct http_req *r)
{
	const char *v = http_header(r, "Tus-Resumable");
	if (v && strcmp(v, TUS_VERSION) == 0)
		return 0;
	/* tus 1.0: a 412 names the versions the server speaks. */
	const char *headers[] = {"Tus-Version", TUS_VERSION, NULL};
	http_error_headers(r, 412, "tus_version", headers, "send Tus-Resumable: %s", TUS_VERSION);
	return -1;
}

static int upload_parse_size(const char *s, long long *out)
{
	long v;
	if (!s || parse_long(s, 0, PARSE_EXACT_MAX, &v) != 0)
		return -1;
	*out = v;
	return 0;
}

void upload_options(struct http_req *r)
{
	char max[24];
	snprintf(max, sizeof max, "%ld", cfg.upload_max_bytes);
	const char *h[] = {"Tus-Version",
	                   TUS_VERSION,
	                   "Tus-Extension",
	                   "creation,checksum,termination",
	                   "Tus-Max-Size",
	                   max,
	                   "Tus-Checksum-Algorithm",
	                   "sha256",
	                   NULL};
	upload_reply(r, 204, h);
}

/* ---- creation ---- */

struct upload_meta {
	char reference[32];
	char document[48];
	char filename[256];
	char sha256[65];
};

/* A file name, not a path: no separators, no "..", no leading dot (its characters are
 * text_is_clean's, checked first for a message of their own). */
static int upload_filename_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 120 && s[0] != '.' && !strstr(s, "..") && !strpbrk(s, "/\\:\"*?<>|");
}

/* Upload-Metadata: "key base64,key base64,…". Unknown keys are ignored (tus clients add
 * their own); reference, document, filename and sha256 are required. */
static int upload_parse_meta(struct http_req *r, struct upload_meta *m)
{
	const char *h = http_header(r, "Upload-Metadata");
	const char *field = "Upload-Metadata";
	unsigned char value[300];
	memset(m, 0, sizeof *m);
	if (!h || strlen(h) > UPLOAD_METADATA_MAX) {
		http_error_field(r, field, "is required: reference, document, filename and sha256, base64-encoded");
		return -1;
	}
	for (const char *p = h; *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		size_t pair = strcspn(p, ",");
		size_t klen = strcspn(p, " ,");
		const char *v = p + klen;
		while (*v == ' ' && v < p + pair)
			v++;
		size_t vlen = (size_t)(p + pair - v), outlen = 0;
		char *dest = NULL;
		size_t cap = 0;
		if (klen == 9 && strncmp(p, "reference", 9) == 0)
			dest = m->reference, cap = sizeof m->reference, field = "reference";
		else if (klen == 8 && strncmp(p, "document", 8) == 0)
			dest = m->document, cap = sizeof m->document, field = "document";
		else if (klen == 8 && strncmp(p, "filename", 8) == 0)
			dest = m->filename, cap = sizeof m->filename, field = "filename";
		else if (klen == 6 && strncmp(p, "sha256", 6) == 0)
			dest = m->sha256, cap = sizeof m->sha256, field = "sha256";
		if (dest) {
			while (vlen && v[vlen - 1] == ' ')
				vlen--;
			if (crypto_base64_decode(v, vlen, value, sizeof value, &outlen) != 0 || outlen >= cap ||
			    memchr(value, '\0', outlen)) {
				http_error_field(r, field, "is not base64 of a value of the right length");
				return -1;
			}
			memcpy(dest, value, outlen);
			dest[outlen] = '\0';
		}
		p += pair;
	}
	if (!m->reference[0] || strspn(m->reference, "MT-0123456789ABCDEFGHJKMNPQRSTVWXYZ") != strlen(m->reference)) {
		http_error_field(r, "reference", "is required: the reference of the visit");
		return -1;
	}
	if (!m->document[0] || strspn(m->document, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(m->document)) {
		http_error_field(r, "document", "is required: a document code of the visit's checklist");
		return -1;
	}
	if (!text_is_clean(m->filename)) {
		http_error_field(r, "filename",
		                 "must be UTF-8 without control, invisible or direction-changing characters");
		return -1;
	}
	if (!upload_filename_ok(m->filename)) {
		http_error_field(r, "filename", "must be a plain file name (no path, no \"..\"), 1 to 120 characters");
		return -1;
	}
	if (strlen(m->sha256) != 64 || strspn(m->sha256, "0123456789abcdef") != 64) {
		http_error_field(r, "sha256", "must be the SHA-256 of the whole file, 64 lowercase hex digits");
		return -1;
	}
	return 0;
}

/* The agent's quotas of open uploads, checked and taken in one transaction. The agent's row
 * is locked first, in a statement of its own: under READ COMMITTED the count that follows
 * then sees every creation committed before the lock was granted, so two creations at once
 * cannot both take the last slot (a single INSERT … SELECT … WHERE count < N would read one
 * snapshot and let both through). FOR NO KEY UPDATE leaves the key-share locks of foreign
 * keys (positions, events) unblocked. 0 when the row is inserted (uncommitted), -1 replied. */
static int upload_take_quota_or_reply(struct http_req *r, const struct db_args *ins, long long length, const char *now)
{
	static const char q_lock[] = "SELECT id FROM agent WHERE id = $1 FOR NO KEY UPDATE";
	/* The agent's open uploads, and the seconds until enough of them (oldest first) have
	 * expired for this one to fit both quotas. */
	static const char q_quota[] =
	    "SELECT coalesce(max(o.n_open), 0) AS open_count, coalesce(max(o.n_bytes), 0) AS open_bytes, "
	    "       greatest(1, ceil(extract(epoch FROM min(o.expires_at) FILTER ("
	    "         WHERE o.n_open - o.k < $3 AND o.n_bytes - o.freed + $4 <= $5) - $2::timestamptz)))::bigint "
	    "         AS retry_after "
	    "FROM (SELECT u.expires_at, count(*) OVER () AS n_open, sum(u.length) OVER () AS n_bytes, "
	    "             row_number() OVER w AS k, sum(u.length) OVER w AS freed "
	    "        FROM upload u WHERE u.agent_id = $1 AND u.status = 'open' AND u.expires_at > $2::timestamptz "
	    "      WINDOW w AS (ORDER BY u.expires_at, u.id)) o";
	static const char q_insert[] =
	    "INSERT INTO upload (id, booking_id, district_id, agent_id, document_code, filename, length, sha256, "
	    "                    stored, created_at, updated_at, expires_at) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, decode($8, 'hex'), $9, $10, $10, "
	    "        $10::timestamptz + make_interval(hours => $11))";
	struct db_args lock = {0}, quota = {0};
	PGresult *res = NULL;
	enum db_status st;
	char retry[24];
	int rc = -1;

	db_arg_ll(&lock, r->auth.id);
	db_arg_ll(&quota, r->auth.id);
	db_arg_text(&quota, now);
	db_arg_ll(&quota, cfg.upload_open_max);
	db_arg_ll(&quota, length);
	db_arg_ll(&quota, cfg.upload_open_bytes_max);
	st = db_begin();
	if (st == DB_OK)
		st = db_run(q_lock, lock.n, lock.v);
	if (st == DB_OK)
		res = db_exec(q_quota, quota.n, quota.v, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	long long open_count = db_col_ll(res, 0, "open_count"), open_bytes = db_col_ll(res, 0, "open_bytes");
	snprintf(retry, sizeof retry, "%lld", db_col_ll(res, 0, "retry_after"));
	const char *h[] = {"Retry-After", retry, NULL};
	if (open_count >= cfg.upload_open_max) {
		http_error_headers(r, 429, "upload_quota", h,
		                   "you have %lld open uploads, the most allowed (upload_open_max %ld): finish or "
		                   "terminate one, or retry when your oldest expires",
		                   open_count, cfg.upload_open_max);
		goto out;
	}
	if (open_bytes + length > cfg.upload_open_bytes_max) {
		http_error_headers(r, 429, "upload_quota", h,
		                   "your open uploads declare %lld bytes; with this one they would pass the %ld "
		                   "allowed (upload_open_bytes_max): finish or terminate one, or retry when your "
		                   "oldest expires",
		                   open_bytes, cfg.upload_open_bytes_max);
		goto out;
	}
	st = db_run(q_insert, ins->n, ins->v);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		db_rollback();
	PQclear(res);
	return rc;
}

void upload_create(struct http_req *r)
{
	/* The visit must be this agent's and at the door; the document on its checklist. */
	static const char q_visit[] =
	    "SELECT b.id, b.district_id, b.status IN ('arrived', 'documents_collected') AS at_door, "
	    "       EXISTS (SELECT 1 FROM service_document sd WHERE sd.service_code = b.service_code AND sd.code = $3) "
	    "         AS on_checklist "
	    "FROM booking b WHERE b.reference = $1 AND b.agent_id = $2";
	static const char q_forget[] = "DELETE FROM upload WHERE id = $1 AND status = 'open'";
	struct upload_meta m;
	struct db_args visit = {0}, ins = {0};
	long long length = 0, stored = 0;
	unsigned char raw[16];
	char id[DOCSTORE_ID_LEN + 1], now[40], location[80];
	enum db_status st;
	PGresult *res = NULL;

	if (upload_check_version_or_reply(r) != 0)
		goto out;
	if (http_header(r, "Upload-Defer-Length")) {
		http_error(r, 400, "defer_length_unsupported",
		           "give Upload-Length; deferred lengths are not supported");
		goto out;
	}
	if (upload_parse_size(http_header(r, "Upload-Length"), &length) != 0 || length == 0) {
		http_error_field(r, "Upload-Length", "is required: the size of the file in bytes");
		goto out;
	}
	if (length > cfg.upload_max_bytes) {
		http_error(r, 413, "too_large", "a document may have at most %ld bytes", cfg.upload_max_bytes);
		goto out;
	}
	/* Larger than the whole quota: waiting would never help, so not a 429. */
	if (length > cfg.upload_open_bytes_max) {
		http_error(r, 413, "too_large", "a document may have at most %ld bytes (upload_open_bytes_max)",
		           cfg.upload_open_bytes_max);
		goto out;
	}
	if (upload_parse_meta(r, &m) != 0)
		goto out;
	if (docstore_init() != 0) {
		http_error(r, 500, "storage_unavailable", "documents cannot be stored right now");
		goto out;
	}
	db_arg_text(&visit, m.reference);
	db_arg_ll(&visit, r->auth.id);
	db_arg_text(&visit, m.document);
	res = db_exec(q_visit, visit.n, visit.v, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(res) != 1) {
		http_error(r, 404, "not_found", "no visit with this reference is assigned to you");
		goto out;
	}
	if (!db_col_true(res, 0, "at_door")) {
		http_error(r, 409, "wrong_state", "documents are uploaded once you have arrived at the visit");
		goto out;
	}
	if (!db_col_true(res, 0, "on_checklist")) {
		http_error_field(r, "document", "is not on this visit's checklist");
		goto out;
	}
	if (crypto_random(raw, sizeof raw) != 0) {
		http_error(r, 500, "internal_error", "no randomness");
		goto out;
	}
	crypto_hex(raw, sizeof raw, id);
	clock_now_text(now, sizeof now);
	db_arg_text(&ins, id);
	db_arg_text(&ins, db_col(res, 0, "id"));
	db_arg_text(&ins, db_col(res, 0, "district_id"));
	db_arg_ll(&ins, r->auth.id);
	db_arg_text(&ins, m.document);
	db_arg_text(&ins, m.filename);
	db_arg_ll(&ins, length);
	db_arg_text(&ins, m.sha256);
	db_arg_ll(&ins, DOCSTORE_HEADER); /* a new file holds its header only (docstore_create) */
	db_arg_text(&ins, now);
	db_arg_ll(&ins, UPLOAD_LIFETIME_HOURS);
	if (upload_take_quota_or_reply(r, &ins, length, now) != 0)
		goto out;
	st = db_commit();
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	/* The row first, then the file: a crash between leaves a row without a file, which
	 * refuses its PATCHes and is removed when it expires; the other way round would leave
	 * a file no row names, which nothing would ever remove. */
	if (docstore_create(id, &stored) != 0) {
		const char *p[] = {id};
		db_run(q_forget, 1, p);
		http_error(r, 500, "storage_unavailable", "documents cannot be stored right now");
		goto out;
	}
	snprintf(location, sizeof location, "/api/v1/agent/uploads/%s", id);
	const char *h[] = {"Location",
	                   location,
	                   "Upload-Offset",
	                   "0",
	                   "Access-Control-Expose-Headers",
	                   "Location, Upload-Offset, Tus-Resumable",
	                   NULL};
	upload_reply(r, 201, h);
out:
	PQclear(res);
}

/* ---- one upload ---- */

/* The caller's open or complete upload `id`, as strings. */
struct upload_row {
	long long offset, length, stored;
	int complete, expired;
	char sha256[65];
	char booking_id[24], district_id[16], document[48], filename[256], reference[32];
};

/* 0 found, 1 replied (404/410), -1 replied (database). */
static int upload_load(struct http_req *r, struct upload_row *u)
{
	static const char sql[] =
	    "SELECT u.\"offset\", u.length, u.stored, u.status = 'complete' AS complete, "
	    "       u.expires_at <= $3::timestamptz AS expired, encode(u.sha256, 'hex') AS sha256, u.booking_id, "
	    "       u.district_id, u.document_code, u.filename, b.reference "
	    "FROM upload u JOIN booking b ON b.id = u.booking_id WHERE u.id = $1 AND u.agent_id = $2";
	struct db_args a = {0};
	char now[40];
	enum db_status st;
	int rc = 1;
	memset(u, 0, sizeof *u);
	if (!docstore_id_ok(r->params[0])) {
		http_error(r, 404, "not_found", "no such upload");
		return 1;
	}
	clock_now_text(now, sizeof now);
	db_arg_text(&a, r->params[0]);
	db_arg_ll(&a, r->auth.id);
	db_arg_text(&a, now);
	PGresult *res = db_exec(sql, a.n, a.v, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		rc = -1;
	} else if (PQntuples(res) != 1) {
		http_error(r, 404, "not_found", "no such upload of yours");
	} else {
		u->offset = db_col_ll(res, 0, "offset");
		u->length = db_col_ll(res, 0, "length");
		u->stored = db_col_ll(res, 0, "stored");
		u->complete = db_col_true(res, 0, "complete");
		u->expired = db_col_true(res, 0, "expired");
		snprintf(u->sha256, sizeof u->sha256, "%s", db_col(res, 0, "sha256"));
		snprintf(u->booking_id, sizeof u->booking_id, "%s", db_col(res, 0, "booking_id"));
		snprintf(u->district_id, sizeof u->district_id, "%s", db_col(res, 0, "district_id"));
		snprintf(u->document, sizeof u->document, "%s", db_col(res, 0, "document_code"));
		snprintf(u->filename, sizeof u->filename, "%s", db_col(res, 0, "filename"));
		snprintf(u->reference, sizeof u->reference, "%s", db_col(res, 0, "reference"));
		rc = 0;
		if (u->expired && !u->complete) {
			http_error(r, 410, "upload_expired", "this upload has expired; start it again");
			rc = 1;
		}
	}
	PQclear(res);
	return rc;
}

void upload_head(struct http_req *r)
{
	struct upload_row u;
	char offset[24], length[24];
	if (upload_load(r, &u) != 0)
		return;
	snprintf(offset, sizeof offset, "%lld", u.offset);
	snprintf(length, sizeof length, "%lld", u.length);
	const char *h[] = {"Upload-Offset",
	                   offset,
	                   "Upload-Length",
	                   length,
	                   "Access-Control-Expose-Headers",
	                   "Upload-Offset, Upload-Length, Tus-Resumable",
	                   NULL};
	upload_reply(r, 200, h);
}

/* A request's claim on one upload: PATCH and DELETE of an upload are serialised across
 * threads and server processes by a token in the upload's row with a lease (migration 010),
 * committed at once, so no database connection is held while the body streams in. */
struct upload_claim {
	const char *id;
	char token[33];
	int64_t until_us; /* the lease's end, on the clock that wrote it */
	int held;
};

static void upload_claim_times(int64_t now_us, char *now, char *until, int64_t *until_us)
{
	*until_us = now_us + UPLOAD_CLAIM_SECONDS * CLOCK_US_PER_S;
	clock_format(now_us, now, CLOCK_TEXT_LEN);
	clock_format(*until_us, until, CLOCK_TEXT_LEN);
}

/* Claims the caller's upload and loads it into u. 0 when claimed; -1 when it replied: 404
 * or 410 (upload_load), 423 while another request holds the claim, 503 (database). The
 * connection is given back between tries, so a wait holds nothing others need. */
static int upload_claim_or_reply(struct http_req *r, struct upload_claim *c, struct upload_row *u)
{
	static const char q_claim[] =
	    "UPDATE upload SET patch_claim = $3, patching_until = $5 "
	    "WHERE id = $1 AND agent_id = $2 AND (patching_until IS NULL OR patching_until <= $4::timestamptz) "
	    "RETURNING id";
	unsigned char raw[16];
	char now[CLOCK_TEXT_LEN], until[CLOCK_TEXT_LEN];
	enum db_status st;

	memset(c, 0, sizeof *c);
	c->id = r->params[0];
	if (crypto_random(raw, sizeof raw) != 0) {
		http_error(r, 500, "internal_error", "no randomness");
		return -1;
	}
	crypto_hex(raw, sizeof raw, c->token);
	/* A request that has just replied may still be clearing its claim (or a cut request
	 * still be storing what it received): wait up to 2 s before answering 423. */
	for (int tries = 0;; tries++) {
		struct db_args a = {0};
		upload_claim_times(clock_now_us(), now, until, &c->until_us);
		db_arg_text(&a, c->id);
		db_arg_ll(&a, r->auth.id);
		db_arg_text(&a, c->token);
		db_arg_text(&a, now);
		db_arg_text(&a, until);
		PGresult *res = db_exec(q_claim, a.n, a.v, &st);
		c->held = st == DB_OK && PQntuples(res) == 1;
		PQclear(res);
		if (st != DB_OK) {
			http_error_db(r, st);
			return -1;
		}
		/* Claimed or not, the row says whether the upload is the caller's and alive. */
		if (upload_load(r, u) != 0)
			return -1;
		if (c->held)
			return 0;
		if (tries >= UPLOAD_CLAIM_TRIES)
			break;
		db_release();
		struct timespec ts = {0, UPLOAD_CLAIM_WAIT_MS * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	http_error(r, 423, "upload_busy", "another request is writing this upload; resume from HEAD's Upload-Offset");
	return -1;
}

/* 0 when the claim has UPLOAD_CLAIM_RENEW_SECONDS in hand, renewing its lease when less is
 * left (a slow body); -1 when it cannot be kept: the caller must then leave the file alone,
 * since another request may have claimed it. A renewal takes a connection only for itself. */
static int upload_claim_keep(struct upload_claim *c)
{
	static const char q_renew[] = "UPDATE upload SET patching_until = $3 WHERE id = $1 AND patch_claim = $2 "
	                              "RETURNING id";
	char now[CLOCK_TEXT_LEN], until[CLOCK_TEXT_LEN];
	int64_t now_us = clock_now_us(), until_us;
	enum db_status st;

	if (!c->held)
		return -1;
	if (c->until_us - now_us > UPLOAD_CLAIM_RENEW_SECONDS * CLOCK_US_PER_S)
		return 0;
	upload_claim_times(now_us, now, until, &until_us);
	const char *p[] = {c->id, c->token, until};
	PGresult *res = db_exec(q_renew, 3, p, &st);
	int kept = st == DB_OK && PQntuples(res) == 1;
	PQclear(res);
	db_release();
	if (kept) {
		c->until_us = until_us;
		return 0;
	}
	if (st == DB_OK)
		c->held = 0; /* the lease lapsed and another request claimed the upload */
	log_warn("upload %s: the claim could not be renewed; the request stops writing", c->id);
	return -1;
}

/* Clears the claim, if it is still this request's. */
static void upload_claim_release(struct upload_claim *c)
{
	static const char sql[] = "UPDATE upload SET patch_claim = NULL, patching_until = NULL "
	                          "WHERE id = $1 AND patch_claim = $2";
	if (!c->held)
		return;
	const char *p[] = {c->id, c->token};
	if (db_run(sql, 2, p) != DB_OK)
		log_warn("upload %s: the claim could not be cleared; it lapses in %d s", c->id, UPLOAD_CLAIM_SECONDS);
	c->held = 0;
}

/* What the finishing pass sees of the plaintext: its digest and its first bytes. */
struct upload_check {
	struct crypto_digest *digest;
	unsigned char *head;
	size_t head_len;
};

static int upload_check_sink(void *ctx, const void *p, size_t n)
{
	struct upload_check *c = ctx;
	crypto_sha256_update(c->digest, p, n);
	if (c->head_len < UPLOAD_MAGIC_BYTES) {
		size_t take = UPLOAD_MAGIC_BYTES - c->head_len < n ? UPLOAD_MAGIC_BYTES - c->head_len : n;
		memcpy(c->head + c->head_len, p, take);
		c->head_len += take;
	}
	return 0;
}

/* The media type libmagic finds in the bytes, if one of the allowed; NULL otherwise. */
static const char *upload_media_type(const unsigned char *p, size_t n)
{
	static const char *const allowed[] = {"image/jpeg", "image/png", "application/pdf", NULL};
	const char *found = NULL;
	magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_ELF | MAGIC_NO_CHECK_TAR);
	if (!m)
		return NULL;
	if (magic_load(m, NULL) == 0) {
		const char *t = magic_buffer(m, p, n);
		for (size_t i = 0; t && allowed[i]; i++)
			if (strcmp(t, allowed[i]) == 0)
				found = allowed[i];
	}
	magic_close(m);
	return found;
}

/* Forgets an upload and its file (refused at the end, or terminated). */
static void upload_discard(const char *id)
{
	static const char sql[] = "DELETE FROM upload WHERE id = $1 AND status = 'open'";
	const char *p[] = {id};
	db_run(sql, 1, p);
	docstore_remove(id);
}

/* All bytes are in: check the whole file, then record the document. Replies. */
static void upload_finish(struct http_req *r, const char *id, struct upload_row *u)
{
	static const char q_doc[] =
	    "WITH d AS (INSERT INTO document (booking_id, district_id, document_code, filename, size, sha256, "
	    "media_type, "
	    "                                 storage_key, uploaded_by, uploaded_at) "
	    "           VALUES ($1, $2, $3, $4, $5, decode($6, 'hex'), $7, $8, $9, $10) "
	    "           ON CONFLICT (booking_id, document_code, sha256) DO NOTHING RETURNING id) "
	    "SELECT d.id, audit_write($2, $10, 'agent', $9, 'document.upload', 'booking', $11, "
	    "                         jsonb_build_object('document', d.id, 'code', $3::text, 'size', $5::bigint, "
	    "                                            'sha256', $6::text)) "
	    "FROM d";
	static const char q_done[] = "UPDATE upload SET status = 'complete', updated_at = $2 WHERE id = $1";
	struct upload_check c = {crypto_sha256_begin(), xmalloc(UPLOAD_MAGIC_BYTES), 0};
	struct db_args doc = {0};
	unsigned char digest[CRYPTO_SHA256_LEN];
	char hex[65], now[40], offset[24];
	enum db_status st;
	PGresult *res = NULL;

	if (docstore_read(id, u->length, upload_check_sink, &c) != 0) {
		crypto_sha256_free(c.digest);
		c.digest = NULL;
		http_error(r, 500, "storage_damaged",
		           "the stored bytes could not be read back; start the upload again");
		upload_discard(id);
		goto out;
	}
	crypto_sha256_end(c.digest, digest);
	c.digest = NULL;
	crypto_hex(digest, sizeof digest, hex);
	if (strcmp(hex, u->sha256) != 0) {
		upload_discard(id);
		http_error(
		    r, 422, "checksum_mismatch",
		    "the file's SHA-256 is not the one given at creation; nothing was recorded, upload it again");
		goto out;
	}
	const char *type = upload_media_type(c.head, c.head_len);
	if (!type) {
		upload_discard(id);
		http_error(r, 415, "unsupported_type", "only JPEG, PNG and PDF documents are accepted");
		goto out;
	}
	clock_now_text(now, sizeof now);
	db_arg_text(&doc, u->booking_id);
	db_arg_text(&doc, u->district_id);
	db_arg_text(&doc, u->document);
	db_arg_text(&doc, u->filename);
	db_arg_ll(&doc, u->length);
	db_arg_text(&doc, hex);
	db_arg_text(&doc, type);
	db_arg_text(&doc, id);
	db_arg_ll(&doc, r->auth.id);
	db_arg_text(&doc, now);
	db_arg_text(&doc, u->reference);
	const char *up[] = {id, now};
	st = db_begin();
	if (st == DB_OK)
		res = db_exec(q_doc, doc.n, doc.v, &st);
	if (st == DB_OK)
		st = db_run(q_done, 2, up);
	if (st == DB_OK)
		st = db_commit();
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(res) == 0)
		docstore_remove(id); /* the same bytes were recorded for this document already */
	log_info("upload %s complete: %s of %s, %lld bytes, %s", id, u->document, u->reference, u->length, type);
	snprintf(offset, sizeof offset, "%lld", u->length);
	const char *h[] = {"Upload-Offset", offset, "Access-Control-Expose-Headers", "Upload-Offset, Tus-Resumable",
	                   NULL};
	upload_reply(r, 204, h);
out:
	crypto_sha256_free(c.digest);
	free(c.head);
	PQclear(res);
}

/* Cuts a refused chunk off again, only while the claim is this request's: once it is not,
 * another request may be writing, and the next docstore_open cuts the chunk off anyway. */
static void upload_cut_back(struct upload_claim *c, struct docstore_writer *w, long long stored)
{
	if (upload_claim_keep(c) != 0)
		return;
	if (docstore_truncate(w, stored) != 0)
		log_error("upload %s: cannot cut a refused chunk off", c->id);
}

static void upload_reply_interrupted(struct http_req *r)
{
	http_error(r, 503, "upload_interrupted",
	           "the upload could not stay claimed; nothing of this request was kept, resume from HEAD");
}

void upload_patch(struct http_req *r)
{
	static const char q_progress[] = "UPDATE upload SET \"offset\" = $2, stored = $3, updated_at = $4 "
	                                 "WHERE id = $1 AND \"offset\" = $5 AND patch_claim = $6 RETURNING id";
	struct upload_row u;
	struct upload_claim claim = {0};
	struct docstore_writer w = {.fd = -1};
	struct crypto_digest *chunk_digest = NULL;
	unsigned char want[CRYPTO_SHA256_LEN], got_digest[CRYPTO_SHA256_LEN];
	unsigned char *buf = NULL;
	long long claimed, content_length, got = 0;
	int has_checksum = 0;
	struct db_args progress = {0};
	char now[40], offset_text[24];
	enum db_status st;
	PGresult *res = NULL;
	const char *id = r->params[0];

	if (upload_check_version_or_reply(r) != 0)
		goto out;
	const char *ctype = http_header(r, "Content-Type");
	if (!ctype || strcasecmp(ctype, "application/offset+octet-stream") != 0) {
		http_error(r, 415, "unsupported_media_type", "send the bytes as application/offset+octet-stream");
		goto out;
	}
	if (upload_parse_size(http_header(r, "Upload-Offset"), &claimed) != 0) {
		http_error_field(r, "Upload-Offset", "is required: the offset the bytes start at");
		goto out;
	}
	content_length = http_content_length(r);
	if (content_length < 0) {
		http_error(r, 411, "length_required", "send Content-Length");
		goto out;
	}
	const char *sum = http_header(r, "Upload-Checksum");
	if (sum) {
		size_t n = 0;
		if (strncmp(sum, "sha256 ", 7) != 0) {
			http_error(r, 400, "checksum_algorithm", "Upload-Checksum must use sha256");
			goto out;
		}
		if (crypto_base64_decode(sum + 7, strlen(sum + 7), want, sizeof want, &n) != 0 || n != sizeof want) {
			http_error_field(r, "Upload-Checksum", "must be \"sha256 \" and the base64 of 32 bytes");
			goto out;
		}
		has_checksum = 1;
	}
	if (!docstore_id_ok(id)) {
		http_error(r, 404, "not_found", "no such upload");
		goto out;
	}
	if (upload_claim_or_reply(r, &claim, &u) != 0)
		goto out;
	if (u.complete) {
		if (claimed == u.length && content_length == 0) {
			snprintf(offset_text, sizeof offset_text, "%lld", u.length);
			const char *h[] = {"Upload-Offset", offset_text, NULL};
			upload_reply(r, 204, h);
		} else {
			http_error(r, 409, "upload_complete", "this upload is complete");
		}
		goto out;
	}
	if (claimed != u.offset) {
		http_error(r, 409, "offset_mismatch", "the upload is at offset %lld; resume from HEAD's Upload-Offset",
		           u.offset);
		goto out;
	}
	if (content_length > u.length - u.offset) {
		http_error(r, 413, "too_large", "the upload has %lld bytes left to send", u.length - u.offset);
		goto out;
	}
	if (docstore_open(&w, id, u.offset, u.stored) != 0) {
		http_error(r, 500, "storage_damaged", "the upload's stored bytes are missing; start it again");
		goto out;
	}
	/* The body may take minutes over a slow network, or forever from an attacker: it is
	 * read holding no database connection (the claim keeps other requests off the file). */
	db_release();
	buf = xmalloc(UPLOAD_READ_CHUNK);
	if (has_checksum)
		chunk_digest = crypto_sha256_begin();
	while (got < content_length) {
		long long want_n = content_length - got < UPLOAD_READ_CHUNK ? content_length - got : UPLOAD_READ_CHUNK;
		int n = http_read(r, buf, (size_t)want_n);
		if (n <= 0)
			break; /* the connection was lost: keep what came (unless checksummed) */
		if (upload_claim_keep(&claim) != 0) {
			upload_reply_interrupted(r);
			goto out;
		}
		if (chunk_digest)
			crypto_sha256_update(chunk_digest, buf, (size_t)n);
		if (docstore_write(&w, buf, (size_t)n) != 0) {
			upload_cut_back(&claim, &w, u.stored);
			http_error(r, 507, "storage_full",
			           "the bytes could not be stored; nothing of this request was kept");
			goto out;
		}
		got += n;
	}
	if (chunk_digest) {
		crypto_sha256_end(chunk_digest, got_digest);
		chunk_digest = NULL;
		if (got < content_length || !crypto_equal(got_digest, want, sizeof want)) {
			/* A checksummed chunk is kept whole or not at all. */
			upload_cut_back(&claim, &w, u.stored);
			if (got < content_length)
				http_error(r, 400, "incomplete", "the request ended early; nothing of it was kept");
			else
				http_error(r, 460, "checksum_mismatch",
				           "the bytes do not match Upload-Checksum; nothing of this request was kept");
			goto out;
		}
	}
	if (got > 0) {
		if (upload_claim_keep(&claim) != 0) {
			upload_reply_interrupted(r);
			goto out;
		}
		if (docstore_commit(&w) != 0) {
			upload_cut_back(&claim, &w, u.stored);
			http_error(r, 507, "storage_full",
			           "the bytes could not be stored; nothing of this request was kept");
			goto out;
		}
		clock_now_text(now, sizeof now);
		db_arg_text(&progress, id);
		db_arg_ll(&progress, w.offset);
		db_arg_ll(&progress, w.stored);
		db_arg_text(&progress, now);
		db_arg_ll(&progress, u.offset);
		db_arg_text(&progress, claim.token);
		res = db_exec(q_progress, progress.n, progress.v, &st);
		if (st != DB_OK) {
			/* Not acknowledged: the bytes beyond u.stored are cut off on the next PATCH. */
			http_error_db(r, st);
			goto out;
		}
		if (PQntuples(res) != 1) {
			upload_reply_interrupted(r);
			goto out;
		}
		u.offset = w.offset;
		u.stored = w.stored;
	}
	docstore_close(&w);
	if (got < content_length) {
		http_error(r, 400, "incomplete", "the request ended early; %lld bytes were kept, resume from HEAD",
		           got);
		goto out;
	}
	if (u.offset == u.length) {
		/* upload_finish reads the whole file back before it needs the database again. */
		db_release();
		upload_finish(r, id, &u);
		goto out;
	}
	snprintf(offset_text, sizeof offset_text, "%lld", u.offset);
	const char *h[] = {"Upload-Offset", offset_text, "Access-Control-Expose-Headers",
	                   "Upload-Offset, Tus-Resumable", NULL};
	upload_reply(r, 204, h);
out:
	docstore_close(&w);
	crypto_sha256_free(chunk_digest);
	free(buf);
	PQclear(res);
	upload_claim_release(&claim);
}

void upload_delete(struct http_req *r)
{
	struct upload_row u;
	struct upload_claim claim = {0};
	if (upload_check_version_or_reply(r) != 0)
		return;
	if (!docstore_id_ok(r->params[0])) {
		http_error(r, 404, "not_found", "no such upload");
		return;
	}
	if (upload_claim_or_reply(r, &claim, &u) != 0)
		goto out;
	if (u.complete) {
		http_error(r, 409, "upload_complete", "this upload is a recorded document and cannot be terminated");
		goto out;
	}
	upload_discard(r->params[0]);
	upload_reply(r, 204, NULL);
out:
	upload_claim_release(&claim);
}

/* ---- expiry ---- */

#define UPLOAD_EXPIRE_BATCH   100 /* expired uploads read per query */
#define UPLOAD_EXPIRE_BATCH_S "100"

/* Removes one expired upload, the file before the row: a crash between leaves an expired row
 * without a file, which every request answers with 410 and the next run removes (a missing
 * file is no error); the other way round would leave a file no row names. Under a claim of its
 * own, so a PATCH that began before the expiry finishes first (and may make it a document,
 * which is then kept), and a crash between leaves a claim that lapses with its lease. 1
 * removed, 0 skipped, -1 database failure. */
static int upload_expire_one(const char *id, const char *now)
{
	/* The cleanup claims the row like a PATCH does: one whose claim is live is being
	 * written (it began before the expiry) and waits for the next run; a PATCH that comes
	 * after the expiry is refused (410) before it writes. */
	static const char q_claim[] =
	    "UPDATE upload u SET patch_claim = $3, patching_until = $4 "
	    " WHERE u.id = $1 AND u.status = 'open' AND u.expires_at <= $2::timestamptz "
	    "   AND (u.patching_until IS NULL OR u.patching_until <= $2::timestamptz) "
	    "   AND NOT EXISTS (SELECT 1 FROM document d WHERE d.storage_key = u.id) RETURNING u.id";
	static const char q_unclaim[] = "UPDATE upload SET patch_claim = NULL, patching_until = NULL "
	                                "WHERE id = $1 AND patch_claim = $2";
	static const char q_forget[] =
	    "WITH u AS (DELETE FROM upload u WHERE u.id = $1 AND u.patch_claim = $3 "
	    "           RETURNING u.id, u.district_id, u.booking_id, u.agent_id, u.document_code, u.length, "
	    "                     u.\"offset\", u.expires_at) "
	    "SELECT audit_write(u.district_id, $2::timestamptz, 'system', NULL, 'upload.expired', 'upload', u.id, "
	    "                   jsonb_build_object('booking', b.reference, 'agent', u.agent_id, 'code', "
	    "u.document_code, "
	    "                                      'length', u.length, 'offset', u.\"offset\", 'expired_at', "
	    "u.expires_at)) "
	    "FROM u JOIN booking b ON b.id = u.booking_id";
	unsigned char raw[16];
	char token[33], now_text[CLOCK_TEXT_LEN], until[CLOCK_TEXT_LEN];
	int64_t now_us, until_us;
	enum db_status st;
	int rc = 0;

	if (clock_parse_rfc3339(now, &now_us) != 0 || crypto_random(raw, sizeof raw) != 0)
		return -1;
	crypto_hex(raw, sizeof raw, token);
	upload_claim_times(now_us, now_text, until, &until_us);
	const char *cp[] = {id, now, token, until};
	PGresult *res = db_exec(q_claim, 4, cp, &st);
	int claimed = st == DB_OK && PQntuples(res) == 1;
	PQclear(res);
	if (st != DB_OK)
		return -1;
	if (!claimed)
		return 0; /* being written, finished, terminated or removed meanwhile: not now */
	const char *fp[] = {id, now, token};
	if (docstore_remove(id) != 0) {
		log_error("upload %s expired but its file cannot be removed; kept for the next run", id);
		const char *up[] = {id, token};
		db_run(q_unclaim, 2, up);
		return 0;
	}
	st = db_run(q_forget, 3, fp);
	if (st != DB_OK)
		rc = -1;
	else
		rc = 1;
	return rc;
}

enum db_status upload_expire(const char *now, int *removed)
{
	static const char q_expired[] =
	    "SELECT id FROM upload WHERE status = 'open' AND expires_at <= $1::timestamptz AND id > $2 "
	    " ORDER BY id LIMIT " UPLOAD_EXPIRE_BATCH_S;
	char after[DOCSTORE_ID_LEN + 1] = "";
	enum db_status st = DB_OK;
	int n;

	*removed = 0;
	if (docstore_init() != 0) {
		log_error("upload expiry: the document store is unavailable");
		return DB_FAILED;
	}
	do {
		const char *p[] = {now, after};
		PGresult *res = db_exec(q_expired, 2, p, &st);
		if (st != DB_OK)
			return st;
		n = PQntuples(res);
		for (int i = 0; i < n && st == DB_OK; i++) {
			const char *id = db_col(res, i, "id");
			int one = upload_expire_one(id, now);
			if (one < 0)
				st = DB_FAILED;
			else
				*removed += one;
			snprintf(after, sizeof after, "%s", id);
		}
		PQclear(res);
	} while (n == UPLOAD_EXPIRE_BATCH && st == DB_OK);
	return st;
}
