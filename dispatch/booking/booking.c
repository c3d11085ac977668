#include "booking/booking.h"

#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account/account.h"
#include "booking/booking_state.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "idem.h"
#include "log.h"
#include "metrics.h"
#include "booking/slots.h"
#include "util.h"

#define BOOKING_TRIES 3     /* a deadlock or serialization failure is retried this often */
#define BOOKING_WAIT_MS 2000 /* how long a booking waits for units held by bookings in progress */

/* What the request says, after its shape was checked. */
struct booking_input {
	const char *service;
	const char *start;
	int64_t start_us;
	double lat, lon;
	const char *address;
	const char *ben_name, *ben_phone, *ben_language;
	int has_booker;
	const char *bk_name, *bk_phone, *bk_time_zone, *bk_language;
};

/* The place and service, resolved before the transaction. */
struct booking_context {
	char department[48];
	char fee[16];
	char zone_id[16];
	char district_id[16];
};

/* ---- shared pieces ---- */

/* The tracking token is derived from the reference under the installation secret, so the
 * receipt can show it again while the database keeps only its hash. 22 base64url chars =
 * 132 bits. */
static void booking_tracking_token(const char *reference, char token[23], char hash_hex[65])
{
	unsigned char mac[CRYPTO_SHA256_LEN], digest[CRYPTO_SHA256_LEN];
	char full[48];
	crypto_secret_hmac("tracking", reference, strlen(reference), mac);
	crypto_base64url(mac, 17, full);
	memcpy(token, full, 22);
	token[22] = '\0';
	crypto_sha256(token, 22, digest);
	crypto_hex(digest, sizeof digest, hash_hex);
}

static void booking_tracking_url(const char *reference, char *out, size_t outlen)
{
	char token[23], hash[65];
	booking_tracking_token(reference, token, hash);
	snprintf(out, outlen, "%s/t/%s", cfg.public_url, token);
}

static int booking_timezone_name_ok(const char *tz)
{
	/* IANA names only (Area/Location), or UTC; the database then checks it exists. */
	size_t n = strlen(tz);
	if (strcmp(tz, "UTC") == 0)
		return 1;
	return n >= 3 && n <= 40 && strchr(tz, '/') && tz[0] >= 'A' && tz[0] <= 'Z' &&
	       strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") == n;
}

static int booking_language_ok(const char *l)
{
	return strcmp(l, "en") == 0 || strcmp(l, "hi") == 0;
}

enum db_status booking_record(struct http_req *r, const char *booking_id, const char *district_id,
				     const char *reference, const char *action, const char *from, const char *to,
				     const char *now, const char *note)
{
	static const char sql[] =
		"WITH e AS (INSERT INTO booking_event (booking_id, district_id, action, from_status, to_status, "
		"                                      actor_role, actor_id, at, note) "
		"           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id) "
		"INSERT INTO audit_log (district_id, at, actor_role, actor_id, action, object_type, object_ref, detail) "
		"SELECT $2, $8, $6, $7, 'booking.' || $3, 'booking', $10, "
		"       jsonb_build_object('event', e.id, 'from', $4::text, 'to', $5::text) FROM e";
	char actor[24];
	snprintf(actor, sizeof actor, "%lld", r->auth.id);
	const char *p[] = { booking_id, district_id, action, from, to, auth_role_name(r->auth.role), actor, now, note,
			    reference };
	return db_run(sql, 10, p);
}

enum db_status booking_take_unit(const char *zone_id, const char *start, const char *service, const char *department,
				 const char *lat, const char *lon, const char *exclude_agent, int *taken,
				 char agent_id[16], char window_end[40])
{
#define BOOKING_CAPABLE                                                                                       \
	"FROM agent_window w JOIN agent a ON a.id = w.agent_id "                                               \
	"WHERE w.zone_id = $1 AND w.starts_at = $2 AND w.booked < w.capacity AND a.active "                    \
	"  AND a.skills && ARRAY[$3, $4, '*'] AND a.id <> $5::int "                                            \
	"  AND NOT EXISTS (SELECT 1 FROM agent_unavailable u WHERE u.agent_id = a.id "                         \
	"                   AND u.day = ($2::timestamptz AT TIME ZONE (SELECT time_zone FROM district "         \
	"                                                            WHERE id = w.district_id))::date) "
	/* Rows other bookings hold locked are skipped, so concurrent bookings do not queue on
	 * one agent. Never wait for such a row: a waiter whose row fills up keeps its lock
	 * while it waits for the next one, and waiters end up queued behind each other.
	 * Ordered by distance alone: a second sort key would keep PostgreSQL from walking the
	 * GiST index in distance order (tests/bench/knn.sh: 177 ms against 0.24 ms with
	 * 100,000 agents). */
	static const char q_take[] =
		"WITH pick AS (SELECT w.agent_id, w.starts_at " BOOKING_CAPABLE
		"               ORDER BY a.base <-> ST_SetSRID(ST_MakePoint($7, $6), 4326)::geography "
		"               LIMIT 1 FOR UPDATE OF w SKIP LOCKED) "
		"UPDATE agent_window w SET booked = w.booked + 1 FROM pick "
		" WHERE w.agent_id = pick.agent_id AND w.starts_at = pick.starts_at RETURNING w.agent_id, w.ends_at";
	/* Whether units remain at all, in rows that other bookings hold locked right now. */
	static const char q_left[] = "SELECT EXISTS (SELECT 1 " BOOKING_CAPABLE ")";
#undef BOOKING_CAPABLE
	enum db_status st;
	const char *p[] = { zone_id, start, service, department, exclude_agent ? exclude_agent : "0", lat, lon };
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	*taken = 0;
	for (int attempt = 0;; attempt++) {
		PGresult *res = db_exec(q_take, 7, p, &st);
		if (st != DB_OK)
			return st;
		if (PQntuples(res) == 1) {
			*taken = 1;
			snprintf(agent_id, 16, "%s", db_get(res, 0, 0));
			snprintf(window_end, 40, "%s", db_get(res, 0, 1));
		}
		PQclear(res);
		if (*taken)
			return DB_OK;
		res = db_exec(q_left, 5, p, &st);
		int left = st == DB_OK && db_get(res, 0, 0)[0] == 't';
		PQclear(res);
		if (st != DB_OK || !left)
			return st;
		/* The remaining units are held by bookings in progress: try again shortly, with
		 * jitter, for as long as a statement may wait. */
		clock_gettime(CLOCK_MONOTONIC, &t);
		long waited_ms = (t.tv_sec - t0.tv_sec) * 1000L + (t.tv_nsec - t0.tv_nsec) / 1000000L;
		if (waited_ms > BOOKING_WAIT_MS)
			return DB_RETRY;
		long base_us = 1000L << (attempt < 5 ? attempt : 5);
		struct timespec ts = { 0, (base_us / 2 + t.tv_nsec / 1000 % base_us) * 1000L };
		nanosleep(&ts, NULL);
	}
}

/* After no unit was found: 422 when the start is no window of the zone, else 409. */
static void booking_reply_no_unit(struct http_req *r, const char *zone_id, const char *start, const char *service,
				  const char *department)
{
	static const char sql[] = "SELECT EXISTS (SELECT 1 FROM agent_window w JOIN agent a ON a.id = w.agent_id "
				  "WHERE w.zone_id = $1 AND w.starts_at = $2 AND a.active AND a.skills && ARRAY[$3, $4, '*'])";
	enum db_status st;
	const char *p[] = { zone_id, start, service, department };
	PGresult *res = db_exec(sql, 4, p, &st);
	if (st != DB_OK)
		http_error_db(r, st);
	else if (db_get(res, 0, 0)[0] == 't')
		http_error(r, 409, "slot_full", "this window is fully booked; choose another from /api/v1/slots");
	else
		http_error(r, 422, "invalid_window", "start must be the start of a window offered by /api/v1/slots");
	PQclear(res);
}

/* Checks that a window start can still be booked; replies and returns -1 when not. */
static int booking_check_start(struct http_req *r, int64_t start_us)
{
	int64_t now = clock_now_us();
	if (start_us < now + (int64_t)cfg.booking_lead_minutes * 60 * 1000000) {
		http_error(r, 422, "window_closed", "this window can no longer be booked (bookings close %ld minutes before)",
			   cfg.booking_lead_minutes);
		return -1;
	}
	if (start_us > now + (int64_t)(cfg.booking_days_ahead + 1) * 86400 * 1000000) {
		http_error(r, 422, "window_too_far", "windows can be booked at most %ld days ahead", cfg.booking_days_ahead);
		return -1;
	}
	return 0;
}

/* ---- create ---- */

static int booking_parse(struct http_req *r, struct booking_input *in)
{
	static const char *const top[] = { "service", "start", "location", "address", "beneficiary", "booker", NULL };
	static const char *const loc[] = { "lat", "lon", NULL };
	static const char *const ben[] = { "name", "phone", "language", NULL };
	static const char *const bkr[] = { "name", "phone", "time_zone", "language", NULL };
	struct jv v = { 0 };

	memset(in, 0, sizeof *in);
	jv_only(&v, r->json, "", top);
	in->service = jv_string(&v, r->json, "", "service", 1, 2, 40);
	in->start = jv_string(&v, r->json, "", "start", 1, 20, 40);
	if (!v.failed && clock_parse_rfc3339(in->start, &in->start_us) != 0)
		jv_fail(&v, "", "start", "must be an RFC 3339 timestamp, a window start from /api/v1/slots");
	json_t *location = jv_object(&v, r->json, "", "location", 1);
	jv_only(&v, location, "location", loc);
	jv_number(&v, location, "location", "lat", 1, -90, 90, &in->lat);
	jv_number(&v, location, "location", "lon", 1, -180, 180, &in->lon);
	in->address = jv_string(&v, r->json, "", "address", 1, 5, 500);
	json_t *beneficiary = jv_object(&v, r->json, "", "beneficiary", 1);
	jv_only(&v, beneficiary, "beneficiary", ben);
	in->ben_name = jv_string(&v, beneficiary, "beneficiary", "name", 1, 1, 100);
	in->ben_phone = jv_string(&v, beneficiary, "beneficiary", "phone", 1, 9, 16);
	if (!v.failed && !account_phone_valid(in->ben_phone))
		jv_fail(&v, "beneficiary", "phone", "must be in international format, e.g. +919876543210");
	in->ben_language = jv_string(&v, beneficiary, "beneficiary", "language", 0, 2, 2);
	if (!v.failed && in->ben_language && !booking_language_ok(in->ben_language))
		jv_fail(&v, "beneficiary", "language", "must be en or hi");
	json_t *booker = jv_object(&v, r->json, "", "booker", 0);
	if (booker) {
		in->has_booker = 1;
		jv_only(&v, booker, "booker", bkr);
		in->bk_name = jv_string(&v, booker, "booker", "name", 0, 1, 100);
		in->bk_phone = jv_string(&v, booker, "booker", "phone", r->auth.role != ROLE_RESIDENT, 9, 16);
		if (!v.failed && in->bk_phone && !account_phone_valid(in->bk_phone))
			jv_fail(&v, "booker", "phone", "must be in international format, e.g. +14155550100");
		in->bk_time_zone = jv_string(&v, booker, "booker", "time_zone", 0, 3, 40);
		if (!v.failed && in->bk_time_zone && !booking_timezone_name_ok(in->bk_time_zone))
			jv_fail(&v, "booker", "time_zone", "must be an IANA time zone name, e.g. America/New_York");
		in->bk_language = jv_string(&v, booker, "booker", "language", 0, 2, 2);
		if (!v.failed && in->bk_language && !booking_language_ok(in->bk_language))
			jv_fail(&v, "booker", "language", "must be en or hi");
	}
	if (!in->ben_language)
		in->ben_language = "hi";
	if (v.failed) {
		jv_reply(r, &v);
		return -1;
	}
	return 0;
}

/* Resolves the service and the zone of the place; replies and returns -1 when either fails. */
static int booking_resolve(struct http_req *r, const struct booking_input *in, const char *lat, const char *lon,
			   struct booking_context *ctx)
{
	static const char q_context[] =
		"SELECT s.department, s.fee_paise, z.id, z.district_id FROM (SELECT 1) one "
		"LEFT JOIN service s ON s.code = $1 AND s.active "
		"LEFT JOIN LATERAL (SELECT id, district_id FROM zone "
		"                    WHERE ST_Covers(area, ST_SetSRID(ST_MakePoint($3, $2), 4326)) ORDER BY id LIMIT 1) z ON true";
	static const char q_tz[] = "SELECT $2::timestamptz AT TIME ZONE $1";
	enum db_status st;
	char now[40];
	int rc = -1;
	const char *p[] = { in->service, lat, lon };
	PGresult *res = db_exec(q_context, 3, p, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (!db_get(res, 0, 0)) {
		http_error_field(r, "service", "no such service; see /api/v1/services");
		goto out;
	}
	if (!db_get(res, 0, 2)) {
		http_error(r, 422, "outside_service_area", "this place is outside every zone served by Mitan");
		goto out;
	}
	snprintf(ctx->department, sizeof ctx->department, "%s", db_get(res, 0, 0));
	snprintf(ctx->fee, sizeof ctx->fee, "%s", db_get(res, 0, 1));
	snprintf(ctx->zone_id, sizeof ctx->zone_id, "%s", db_get(res, 0, 2));
	snprintf(ctx->district_id, sizeof ctx->district_id, "%s", db_get(res, 0, 3));
	if (in->bk_time_zone) {
		clock_now_text(now, sizeof now);
		const char *tp[] = { in->bk_time_zone, now };
		if (db_run(q_tz, 2, tp) != DB_OK) {
			http_error_field(r, "booker.time_zone", "is not a known time zone");
			goto out;
		}
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

/* The person with this phone, made on first sight; the name and preferences are kept from
 * the first time (a later booking by someone else must not rename them). */
static enum db_status booking_person(const char *phone, const char *name, const char *language,
				     const char *time_zone, const char *now, char id[24])
{
	static const char sql[] =
		"WITH ins AS (INSERT INTO person (phone, name, language, time_zone, created_at) "
		"             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (phone) DO NOTHING RETURNING id) "
		"SELECT id FROM ins UNION ALL SELECT id FROM person WHERE phone = $1 LIMIT 1";
	enum db_status st = DB_OK;
	const char *p[] = { phone, name ? name : "", language ? language : "hi", time_zone ? time_zone : "Asia/Kolkata",
			    now };
	/* A concurrent first insert of the same phone is invisible to this statement's
	 * snapshot; the second try sees it. */
	for (int tries = 0; tries < 2; tries++) {
		PGresult *res = db_exec(sql, 5, p, &st);
		int found = st == DB_OK && PQntuples(res) == 1;
		if (found)
			snprintf(id, 24, "%s", db_get(res, 0, 0));
		PQclear(res);
		if (st != DB_OK || found)
			return st;
	}
	return DB_RETRY;
}

/* The resident booking for themselves or for someone else is the booker; what they say
 * of themselves updates their own record. */
static enum db_status booking_resident_booker(struct http_req *r, const struct booking_input *in, char id[24],
					      int *wrong_phone)
{
	static const char sql[] =
		"UPDATE person SET name = coalesce($2, name), language = coalesce($3, language), "
		"       time_zone = coalesce($4, time_zone) "
		" WHERE id = $1 AND (name, language, time_zone) IS DISTINCT FROM "
		"       (coalesce($2, name), coalesce($3, language), coalesce($4, time_zone))";
	static const char q_phone[] = "SELECT phone FROM person WHERE id = $1";
	enum db_status st = DB_OK;
	snprintf(id, 24, "%lld", r->auth.id);
	*wrong_phone = 0;
	if (!in->has_booker)
		return DB_OK;
	const char *p[] = { id, in->bk_name, in->bk_language, in->bk_time_zone };
	if (in->bk_phone) {
		PGresult *res = db_exec(q_phone, 1, p, &st);
		*wrong_phone = st == DB_OK && (PQntuples(res) != 1 || strcmp(db_get(res, 0, 0), in->bk_phone) != 0);
		PQclear(res);
		if (st != DB_OK || *wrong_phone)
			return st;
	}
	return db_run(sql, 4, p);
}

/* One attempt at the booking transaction. Returns DB_RETRY to be tried again; any other
 * outcome has been replied to. */
static enum db_status booking_create_tx(struct http_req *r, const struct booking_input *in,
					const struct booking_context *ctx, const char *lat, const char *lon)
{
	/* The booking, its first event and its audit entry in one statement. */
	static const char q_insert[] =
		"WITH b AS (INSERT INTO booking (district_id, reference, tracking_hash, service_code, booker_id, "
		"             beneficiary_id, beneficiary_name, beneficiary_language, address, location, zone_id, "
		"             window_start, window_end, agent_id, status, fee_paise, created_by_role, created_by_id, "
		"             created_at, updated_at) "
		"           VALUES ($1, $2, decode($3, 'hex'), $4, $5, $6, $7, $8, $9, ST_SetSRID(ST_MakePoint($11, $10), 4326), "
		"                   $12, $13, $14, $15, 'booked', $16, $17, $18, $19, $19) "
		"           RETURNING id, district_id, reference, created_at), "
		"     e AS (INSERT INTO booking_event (booking_id, district_id, action, to_status, actor_role, actor_id, at) "
		"           SELECT id, district_id, 'created', 'booked', $17, $18, created_at FROM b RETURNING id) "
		"INSERT INTO audit_log (district_id, at, actor_role, actor_id, action, object_type, object_ref, detail) "
		"SELECT b.district_id, b.created_at, $17, $18, 'booking.created', 'booking', b.reference, "
		"       jsonb_build_object('event', e.id, 'from', NULL::text, 'to', 'booked') FROM b, e "
		"RETURNING (SELECT id FROM b)";
	/* The confirmation SMS and the reply. */
	static const char q_finish[] =
		"SELECT booking_notify(b.id, 'booking_confirmed', $2, $3, 'created'), "
		"       (booking_json(b, $4) || jsonb_build_object('tracking_url', $3::text))::text "
		"FROM booking b WHERE b.id = $1";
	struct idem idem;
	char now[40], booker_id[24], beneficiary_id[24], agent_id[16], window_end[40], reference[18];
	char token[23], tracking_hash[65], url[300], creator[24];
	enum db_status st;
	PGresult *res = NULL;
	int taken = 0, wrong_phone = 0;

	clock_now_text(now, sizeof now);
	if ((st = db_begin()) != DB_OK)
		goto db_fail;
	if (idem_begin(r, &idem) != 0)
		goto out; /* replayed or refused */
	/* After the key: a repeat of a booking made in time replays even once the window closed. */
	if (booking_check_start(r, in->start_us) != 0)
		goto out;
	if ((st = booking_person(in->ben_phone, in->ben_name, in->ben_language, "Asia/Kolkata", now, beneficiary_id)) !=
	    DB_OK)
		goto db_fail;
	if (r->auth.role == ROLE_RESIDENT) {
		if ((st = booking_resident_booker(r, in, booker_id, &wrong_phone)) != DB_OK)
			goto db_fail;
		if (wrong_phone) {
			http_error_field(r, "booker.phone", "must be your own phone: you are the booker");
			goto out;
		}
	} else if (in->has_booker) {
		if ((st = booking_person(in->bk_phone, in->bk_name, in->bk_language, in->bk_time_zone, now, booker_id)) !=
		    DB_OK)
			goto db_fail;
	} else {
		snprintf(booker_id, sizeof booker_id, "%s", beneficiary_id);
	}
	if ((st = booking_take_unit(ctx->zone_id, in->start, in->service, ctx->department, lat, lon, NULL, &taken,
				    agent_id, window_end)) != DB_OK)
		goto db_fail;
	if (!taken) {
		booking_reply_no_unit(r, ctx->zone_id, in->start, in->service, ctx->department);
		goto out;
	}
	if (crypto_reference(reference) != 0) {
		http_error(r, 500, "internal_error", "no randomness available");
		goto out;
	}
	booking_tracking_token(reference, token, tracking_hash);
	snprintf(url, sizeof url, "%s/t/%s", cfg.public_url, token);
	snprintf(creator, sizeof creator, "%lld", r->auth.id);
	const char *ip[] = { ctx->district_id, reference, tracking_hash, in->service, booker_id, beneficiary_id,
			     in->ben_name, in->ben_language, in->address, lat, lon, ctx->zone_id, in->start, window_end,
			     agent_id, ctx->fee, auth_role_name(r->auth.role), creator, now };
	res = db_exec(q_insert, 19, ip, &st);
	if (st != DB_OK)
		goto db_fail;
	char booking_id[24];
	snprintf(booking_id, sizeof booking_id, "%s", db_get(res, 0, 0));
	PQclear(res);
	const char *fp[] = { booking_id, now, url, in->bk_language ? in->bk_language : http_lang(r) };
	res = db_exec(q_finish, 4, fp, &st);
	if (st != DB_OK)
		goto db_fail;
	const char *body = db_get(res, 0, 1);
	if ((st = idem_finish(&idem, 201, body)) != DB_OK || (st = db_commit()) != DB_OK)
		goto db_fail;
	metrics_count("mitan_bookings_created_total", 1);
	slots_invalidate(strtol(ctx->zone_id, NULL, 10));
	http_reply_json_text(r, 201, body);
	goto out;
db_fail:
	db_rollback();
	if (st == DB_RETRY)
		goto out;
	if (st == DB_UNIQUE) /* a reference collision: 60 random bits make it all but impossible */
		st = DB_RETRY;
	else
		http_error_db(r, st);
out:
	PQclear(res);
	return r->status ? DB_OK : st;
}

void booking_create(struct http_req *r)
{
	struct booking_input in;
	struct booking_context ctx;
	char lat[32], lon[32];
	enum db_status st = DB_RETRY;

	if (booking_parse(r, &in) != 0)
		return;
	snprintf(lat, sizeof lat, "%.7f", in.lat);
	snprintf(lon, sizeof lon, "%.7f", in.lon);
	if (booking_resolve(r, &in, lat, lon, &ctx) != 0)
		return;
	for (int i = 0; i < BOOKING_TRIES && st == DB_RETRY && !r->status; i++)
		st = booking_create_tx(r, &in, &ctx, lat, lon);
	if (!r->status)
		http_error_db(r, st);
}

/* ---- read ---- */

/* The booking with this reference if the caller may see it. Columns: id, status,
 * district_id, zone_id, service_code, department, agent_id, window_start (RFC 3339 in
 * UTC, with microseconds, so that clock_parse_rfc3339 reads it), lat, lon, started. */
static PGresult *booking_load(struct http_req *r, int for_update, enum db_status *st)
{
#define BOOKING_LOAD                                                                                          \
	"SELECT b.id, b.status, b.district_id, b.zone_id, b.service_code, s.department, b.agent_id, "            \
	"       to_char(b.window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "                   \
	"       ST_Y(b.location), ST_X(b.location), b.window_start <= $5::timestamptz "                          \
	"FROM booking b JOIN service s ON s.code = b.service_code WHERE b.reference = $1 AND ( "                 \
	"  ($2 = 'resident' AND (b.booker_id = $3::bigint OR b.beneficiary_id = $3::bigint)) OR "                \
	"  ($2 IN ('operator', 'officer', 'committee', 'admin') AND ($4::int = 0 OR b.district_id = $4::int)) OR " \
	"  ($2 = 'agent' AND b.agent_id = $3::bigint)) "
	static const char q_read[] = BOOKING_LOAD;
	static const char q_lock[] = BOOKING_LOAD "FOR UPDATE OF b";
#undef BOOKING_LOAD
	char id[24], district[24], now[40];
	snprintf(id, sizeof id, "%lld", r->auth.id);
	snprintf(district, sizeof district, "%lld", r->auth.district_id);
	clock_now_text(now, sizeof now);
	const char *p[] = { r->params[0], auth_role_name(r->auth.role), id, district, now };
	return db_exec(for_update ? q_lock : q_read, 5, p, st);
}

/* Replies with a booking (object) or bookings (array) from booking_json, each with its
 * tracking_url: derived from the reference, so only the server can add it. */
static void booking_reply_tracked(struct http_req *r, const char *text)
{
	json_error_t err;
	json_t *body = json_loads(text, 0, &err), *one;
	size_t i;
	char url[300];
	if (!body) {
		http_error(r, 500, "internal_error", "the reply could not be encoded");
		return;
	}
	json_t *list = json_is_array(body) ? body : NULL;
	for (i = 0; list ? i < json_array_size(list) : i < 1; i++) {
		one = list ? json_array_get(list, i) : body;
		const char *reference = json_string_value(json_object_get(one, "reference"));
		if (!reference)
			continue;
		booking_tracking_url(reference, url, sizeof url);
		json_object_set_new(one, "tracking_url", json_string(url));
	}
	http_reply_json(r, 200, body);
}

void booking_get(struct http_req *r)
{
	static const char sql[] = "SELECT booking_json(b, $2)::text FROM booking b WHERE id = $1";
	enum db_status st;
	PGresult *found = booking_load(r, 0, &st), *res = NULL;
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(found) != 1) {
		http_error(r, 404, "not_found", "no booking with this reference is yours to see");
		goto out;
	}
	const char *p[] = { db_get(found, 0, 0), http_lang(r) };
	res = db_exec(sql, 2, p, &st);
	if (st != DB_OK)
		http_error_db(r, st);
	else
		booking_reply_tracked(r, db_get(res, 0, 0));
out:
	PQclear(found);
	PQclear(res);
}

void booking_list(struct http_req *r)
{
	/* A resident's own bookings (as booker or beneficiary); staff see their district's,
	 * optionally for one phone and/or in one status (e.g. certificate_ready: to deliver).
	 * Newest window first, at most 100. */
	static const char sql[] =
		"SELECT coalesce(jsonb_agg(booking_json(b, $5) ORDER BY b.window_start DESC, b.id DESC), '[]')::text "
		"FROM (SELECT b.* FROM booking b WHERE "
		"   (($1 = 'resident' AND (b.booker_id = $2::bigint OR b.beneficiary_id = $2::bigint)) OR "
		"    ($1 <> 'resident' AND ($3::int = 0 OR b.district_id = $3::int) AND "
		"     ($4::text IS NULL OR b.beneficiary_id = (SELECT id FROM person WHERE phone = $4) "
		"                       OR b.booker_id = (SELECT id FROM person WHERE phone = $4)))) "
		"   AND ($6::text IS NULL OR b.status = $6) "
		"   ORDER BY b.window_start DESC, b.id DESC LIMIT 100) b";
	char id[24], district[24], phone[24], status[24];
	int has_phone = http_query(r, "phone", phone, sizeof phone);
	int has_status = http_query(r, "status", status, sizeof status);
	if (has_phone && (has_phone < 0 || !account_phone_valid(phone))) {
		http_error_field(r, "phone", "must be in international format, e.g. +919876543210");
		return;
	}
	if (has_status && (has_status < 0 || !booking_state_known(status))) {
		http_error_field(r, "status", "must be a booking status, e.g. certificate_ready");
		return;
	}
	snprintf(id, sizeof id, "%lld", r->auth.id);
	snprintf(district, sizeof district, "%lld", r->auth.district_id);
	const char *p[] = { auth_role_name(r->auth.role), id, district,
			    has_phone && r->auth.role != ROLE_RESIDENT ? phone : NULL, http_lang(r),
			    has_status ? status : NULL };
	enum db_status st;
	PGresult *res = db_exec(sql, 6, p, &st);
	if (st != DB_OK)
		http_error_db(r, st);
	else
		booking_reply_tracked(r, db_get(res, 0, 0));
	PQclear(res);
}

/* ---- cancel and reschedule ---- */

static const char booking_q_release[] =
	"UPDATE agent_window SET booked = booked - 1 WHERE agent_id = $1 AND starts_at = $2::timestamptz";
static const char booking_q_reply[] = "SELECT booking_json(b, $2)::text FROM booking b WHERE id = $1";

/* Locks the caller's booking and checks the move; replies and returns NULL when refused. */
static PGresult *booking_lock_for(struct http_req *r, const char *to, enum db_status *st)
{
	PGresult *res = booking_load(r, 1, st);
	if (*st != DB_OK) {
		http_error_db(r, *st);
	} else if (PQntuples(res) != 1) {
		http_error(r, 404, "not_found", "no booking with this reference is yours to change");
	} else if (!booking_state_allowed(db_get(res, 0, 1), to)) {
		http_error(r, 409, "wrong_state", "a booking that is %s cannot be %s", db_get(res, 0, 1), to);
	} else if (db_get(res, 0, 10)[0] == 't') {
		http_error(r, 409, "window_started", "the visit window has already begun; call the helpline");
	} else {
		return res;
	}
	PQclear(res);
	return NULL;
}

static void booking_finish_change(struct http_req *r, const char *booking_id, long zone, enum db_status st)
{
	if (st != DB_OK || (st = db_commit()) != DB_OK) {
		http_error_db(r, st);
		return;
	}
	slots_invalidate(zone);
	const char *p[] = { booking_id, http_lang(r) };
	http_reply_query(r, booking_q_reply, 2, p);
}

void booking_cancel(struct http_req *r)
{
	static const char *const fields[] = { "reason", NULL };
	static const char q_cancel[] = "UPDATE booking SET status = 'cancelled', updated_at = $2 WHERE id = $1";
	static const char q_notify[] = "SELECT booking_notify($1, 'booking_cancelled', $2, NULL, 'cancelled')";
	struct jv v = { 0 };
	char now[40], booking_id[24];
	enum db_status st;
	PGresult *b = NULL;

	jv_only(&v, r->json, "", fields);
	const char *reason = jv_string(&v, r->json, "", "reason", 0, 1, 300);
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	clock_now_text(now, sizeof now);
	if ((st = db_begin()) != DB_OK) {
		http_error_db(r, st);
		return;
	}
	if (!(b = booking_lock_for(r, "cancelled", &st)))
		return;
	snprintf(booking_id, sizeof booking_id, "%s", db_get(b, 0, 0));
	const char *rp[] = { db_get(b, 0, 6), db_get(b, 0, 7) };
	const char *cp[] = { booking_id, now };
	if ((st = db_run(booking_q_release, 2, rp)) == DB_OK && (st = db_run(q_cancel, 2, cp)) == DB_OK &&
	    (st = booking_record(r, booking_id, db_get(b, 0, 2), r->params[0], "cancelled", db_get(b, 0, 1), "cancelled",
				 now, reason)) == DB_OK)
		st = db_run(q_notify, 2, cp);
	booking_finish_change(r, booking_id, db_get_ll(b, 0, 3), st);
	PQclear(b);
}

void booking_reschedule(struct http_req *r)
{
	static const char *const fields[] = { "start", NULL };
	static const char q_move[] =
		"UPDATE booking SET window_start = $2, window_end = $3, agent_id = $4, status = 'booked', "
		"  planned_arrival = NULL, route_order = NULL, updated_at = $5 WHERE id = $1";
	static const char q_notify[] = "SELECT booking_notify($1, 'booking_rescheduled', $2, NULL, $3)";
	struct jv v = { 0 };
	char now[40], booking_id[24], agent_id[16], window_end[40], dedupe[48];
	int64_t start_us;
	int taken = 0;
	enum db_status st;
	PGresult *b = NULL;

	jv_only(&v, r->json, "", fields);
	const char *start = jv_string(&v, r->json, "", "start", 1, 20, 40);
	if (!v.failed && clock_parse_rfc3339(start, &start_us) != 0)
		jv_fail(&v, "", "start", "must be an RFC 3339 timestamp, a window start from /api/v1/slots");
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	if (booking_check_start(r, start_us) != 0)
		return;
	clock_now_text(now, sizeof now);
	if ((st = db_begin()) != DB_OK) {
		http_error_db(r, st);
		return;
	}
	if (!(b = booking_lock_for(r, "rescheduled", &st)))
		return;
	int64_t old_us;
	if (clock_parse_rfc3339(db_get(b, 0, 7), &old_us) == 0 && old_us == start_us) {
		http_error(r, 409, "same_window", "the booking is already in this window");
		goto out;
	}
	snprintf(booking_id, sizeof booking_id, "%s", db_get(b, 0, 0));
	/* Take the new unit before giving the old one back: if the new window is full,
	 * nothing changes. */
	if ((st = booking_take_unit(db_get(b, 0, 3), start, db_get(b, 0, 4), db_get(b, 0, 5), db_get(b, 0, 8),
				    db_get(b, 0, 9), NULL, &taken, agent_id, window_end)) != DB_OK)
		goto finish;
	if (!taken) {
		booking_reply_no_unit(r, db_get(b, 0, 3), start, db_get(b, 0, 4), db_get(b, 0, 5));
		goto out;
	}
	const char *rp[] = { db_get(b, 0, 6), db_get(b, 0, 7) };
	const char *mp[] = { booking_id, start, window_end, agent_id, now };
	snprintf(dedupe, sizeof dedupe, "to:%lld", (long long)(start_us / 1000000));
	const char *np[] = { booking_id, now, dedupe };
	if ((st = db_run(booking_q_release, 2, rp)) == DB_OK && (st = db_run(q_move, 5, mp)) == DB_OK &&
	    (st = booking_record(r, booking_id, db_get(b, 0, 2), r->params[0], "rescheduled", db_get(b, 0, 1), "booked",
				 now, NULL)) == DB_OK)
		st = db_run(q_notify, 3, np);
finish:
	booking_finish_change(r, booking_id, db_get_ll(b, 0, 3), st);
out:
	PQclear(b);
}

/* ---- receipt and tracking ---- */

void booking_receipt(struct http_req *r)
{
	static const char sql[] =
		"SELECT b.reference, s.name_en, s.name_hi, window_label(b.window_start, b.window_end, 'Asia/Kolkata', 'en'), "
		"       to_char(b.fee_paise / 100.0, 'FM999990.00'), b.status "
		"FROM booking b JOIN service s ON s.code = b.service_code WHERE b.id = $1";
	char url[300];
	buf_t svg;
	enum db_status st;
	QRcode *qr = NULL;
	PGresult *found = booking_load(r, 0, &st), *res = NULL;

	buf_init(&svg, 1u << 20);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(found) != 1) {
		http_error(r, 404, "not_found", "no booking with this reference is yours to see");
		goto out;
	}
	const char *p[] = { db_get(found, 0, 0) };
	res = db_exec(sql, 1, p, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	booking_tracking_url(db_get(res, 0, 0), url, sizeof url);
	qr = QRcode_encodeString(url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!qr) {
		http_error(r, 500, "internal_error", "the QR code could not be made");
		goto out;
	}
	/* The QR code with a 4-module quiet zone, 4 px a module, and the receipt text below. */
	int side = (qr->width + 8) * 4, height = side + 150;
	int rc = buf_printf(&svg,
			    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
			    "role=\"img\" aria-label=\"Mitan receipt %s\">\n"
			    "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n<path fill=\"#000\" d=\"",
			    side < 360 ? 360 : side, height, side < 360 ? 360 : side, height, db_get(res, 0, 0));
	for (int y = 0; y < qr->width; y++)
		for (int x = 0; x < qr->width; x++)
			if (qr->data[y * qr->width + x] & 1)
				rc |= buf_printf(&svg, "M%d %dh4v4h-4z", (x + 4) * 4, (y + 4) * 4);
	rc |= buf_puts(&svg, "\"/>\n<g font-family=\"sans-serif\" font-size=\"14\" fill=\"#000\">\n");
	const char *lines[] = { "Mitan receipt / मितान रसीद", db_get(res, 0, 0), db_get(res, 0, 1), db_get(res, 0, 2),
				db_get(res, 0, 3), "Fee / शुल्क: Rs " };
	for (int i = 0; i < 6; i++) {
		rc |= buf_printf(&svg, "<text x=\"16\" y=\"%d\"%s>", side + 18 + i * 21, i < 2 ? " font-weight=\"bold\"" : "");
		rc |= buf_put_html(&svg, lines[i]);
		if (i == 5)
			rc |= buf_put_html(&svg, db_get(res, 0, 4));
		rc |= buf_puts(&svg, "</text>\n");
	}
	rc |= buf_puts(&svg, "</g>\n</svg>\n");
	if (rc != 0) {
		http_error(r, 500, "internal_error", "the receipt is too large");
		goto out;
	}
	http_reply(r, 200, "image/svg+xml; charset=utf-8", svg.data, svg.len);
out:
	QRcode_free(qr);
	PQclear(found);
	PQclear(res);
	buf_free(&svg);
}

void booking_track(struct http_req *r)
{
	static const char sql[] =
		"SELECT b.reference, s.name_en, s.name_hi, status_label(b.status, 'hi') || ' / ' || status_label(b.status, 'en'), "
		"       window_label(b.window_start, b.window_end, d.time_zone, 'en'), "
		"       window_label(b.window_start, b.window_end, d.time_zone, 'hi'), "
		"       jsonb_build_object('reference', b.reference, 'status', b.status, "
		"         'service', jsonb_build_object('code', s.code, 'name_en', s.name_en, 'name_hi', s.name_hi), "
		"         'window', jsonb_build_object('start', rfc3339(b.window_start, d.time_zone), "
		"                                      'end', rfc3339(b.window_end, d.time_zone)), "
		"         'events', (SELECT jsonb_agg(jsonb_build_object('at', rfc3339(e.at, d.time_zone), 'status', e.to_status) "
		"                                     ORDER BY e.id) FROM booking_event e WHERE e.booking_id = b.id))::text "
		"FROM booking b JOIN service s ON s.code = b.service_code JOIN district d ON d.id = b.district_id "
		"WHERE b.tracking_hash = decode($1, 'hex')";
	unsigned char digest[CRYPTO_SHA256_LEN];
	char hash[65];
	enum db_status st;
	buf_t page;
	PGresult *res = NULL;
	const char *token = r->params[0];
	const char *accept = http_header(r, "Accept");

	buf_init(&page, 1u << 16);
	if (strlen(token) != 22 ||
	    strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != 22) {
		http_error(r, 404, "not_found", "no booking has this tracking code");
		goto out;
	}
	crypto_sha256(token, 22, digest);
	crypto_hex(digest, sizeof digest, hash);
	const char *p[] = { hash };
	res = db_exec(sql, 1, p, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(res) != 1) {
		http_error(r, 404, "not_found", "no booking has this tracking code");
		goto out;
	}
	if (accept && strstr(accept, "application/json")) {
		http_reply_json_text(r, 200, db_get(res, 0, 6));
		goto out;
	}
	int rc = buf_puts(&page, "<!doctype html><html lang=\"hi\"><head><meta charset=\"utf-8\">"
				 "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
				 "<title>Mitan — ");
	rc |= buf_put_html(&page, db_get(res, 0, 0));
	rc |= buf_puts(&page, "</title><link rel=\"stylesheet\" href=\"/track.css\"></head><body><main>"
			      "<h1>मितान · Mitan</h1><p class=\"ref\">");
	rc |= buf_put_html(&page, db_get(res, 0, 0));
	rc |= buf_puts(&page, "</p><dl><dt>सेवा / Service</dt><dd>");
	rc |= buf_put_html(&page, db_get(res, 0, 2));
	rc |= buf_puts(&page, "<br>");
	rc |= buf_put_html(&page, db_get(res, 0, 1));
	rc |= buf_puts(&page, "</dd><dt>स्थिति / Status</dt><dd class=\"status\">");
	rc |= buf_put_html(&page, db_get(res, 0, 3));
	rc |= buf_puts(&page, "</dd><dt>समय / Window</dt><dd>");
	rc |= buf_put_html(&page, db_get(res, 0, 5));
	rc |= buf_puts(&page, "<br>");
	rc |= buf_put_html(&page, db_get(res, 0, 4));
	rc |= buf_puts(&page, "</dd></dl></main></body></html>\n");
	if (rc != 0) {
		http_error(r, 500, "internal_error", "the page is too large");
		goto out;
	}
	http_reply(r, 200, "text/html; charset=utf-8", page.data, page.len);
out:
	PQclear(res);
	buf_free(&page);
}
