#include "booking/booking.h"

#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account/account.h"
#include "audit.h"
#include "booking/change.h"
#include "booking/tracking.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "idem.h"
#include "log.h"
#include "metrics.h"
#include "booking/slots.h"
#include "util.h"

#define BOOKING_TRIES   3    /* a deadlock or serialization failure is retried this often */
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
	char time_zone[48]; /* the district's: a new beneficiary lives there */
};

/* ---- shared pieces ---- */

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

enum db_status booking_take_unit(const char *zone_id, const char *start, const char *service, const char *department,
                                 const char *lat, const char *lon, const char *exclude_agent, int *taken,
                                 char agent_id[16], char window_end[40])
{
#define BOOKING_CAPABLE                                                                                                \
	"FROM agent_window w JOIN agent a ON a.id = w.agent_id "                                                       \
	"WHERE w.zone_id = $1 AND w.starts_at = $2 AND w.booked < w.capacity AND a.active "                            \
	"  AND a.skills && ARRAY[$3, $4, '*'] AND a.id <> $5::int "                                                    \
	"  AND NOT EXISTS (SELECT 1 FROM agent_unavailable u WHERE u.agent_id = a.id "                                 \
	"                   AND u.day = ($2::timestamptz AT TIME ZONE (SELECT time_zone FROM district "                \
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
	const char *p[] = {zone_id, start, service, department, exclude_agent ? exclude_agent : "0", lat, lon};
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
		struct timespec ts = {0, (base_us / 2 + t.tv_nsec / 1000 % base_us) * 1000L};
		nanosleep(&ts, NULL);
	}
}

/* After no unit was found: 422 when the start is no window of the zone, else 409. */
static void booking_reply_no_unit(struct http_req *r, const char *zone_id, const char *start, const char *service,
                                  const char *department)
{
	static const char sql[] =
	    "SELECT EXISTS (SELECT 1 FROM agent_window w JOIN agent a ON a.id = w.agent_id "
	    "WHERE w.zone_id = $1 AND w.starts_at = $2 AND a.active AND a.skills && ARRAY[$3, $4, '*'])";
	enum db_status st;
	const char *p[] = {zone_id, start, service, department};
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
static int booking_check_start_or_reply(struct http_req *r, int64_t start_us)
{
	int64_t now = clock_now_us();
	if (start_us < now + (int64_t)cfg.booking_lead_minutes * 60 * 1000000) {
		http_error(r, 422, "window_closed",
		           "this window can no longer be booked (bookings close %ld minutes before)",
		           cfg.booking_lead_minutes);
		return -1;
	}
	if (start_us > now + (int64_t)(cfg.booking_days_ahead + 1) * 86400 * 1000000) {
		http_error(r, 422, "window_too_far", "windows can be booked at most %ld days ahead",
		           cfg.booking_days_ahead);
		return -1;
	}
	return 0;
}

/* ---- create ---- */

static int booking_phone_ok(const char *s)
{
	return account_phone_valid(s);
}

static int booking_check_rfc3339(const char *s)
{
	int64_t us;
	return clock_parse_rfc3339(s, &us) == 0;
}

/* The statuses the office sets after the visit: the targets of its steps. */
static int booking_office_status_ok(const char *s)
{
	return booking_transition_target(BOOKING_OFFICE_STEP, s);
}

#define BOOKING_START_FORMAT "must be an RFC 3339 timestamp, a window start from /api/v1/slots"

/* Replies 400 and returns -1 when the body is not a booking. */
static int booking_parse_or_reply(struct http_req *r, struct booking_input *in)
{
	json_t *booker = NULL;
	const struct jv_field location[] = {
	    JV_NUM("lat", 1, -90, 90, &in->lat, NULL),
	    JV_NUM("lon", 1, -180, 180, &in->lon, NULL),
	    JV_END,
	};
	const struct jv_field beneficiary[] = {
	    JV_STR("name", 1, 1, 100, &in->ben_name),
	    JV_STR_OK("phone", 1, 9, 16, booking_phone_ok, ACCOUNT_PHONE_FORMAT, &in->ben_phone),
	    JV_STR_OK("language", 0, 2, 2, booking_language_ok, "must be en or hi", &in->ben_language),
	    JV_END,
	};
	/* A resident is the booker: their own phone may be left out. */
	const struct jv_field booker_fields[] = {
	    JV_STR("name", 0, 1, 100, &in->bk_name),
	    JV_STR_OK("phone", r->auth.role != ROLE_RESIDENT, 9, 16, booking_phone_ok,
	              "must be in international format, e.g. +14155550100", &in->bk_phone),
	    JV_STR_OK("time_zone", 0, 3, 40, booking_timezone_name_ok,
	              "must be an IANA time zone name, e.g. America/New_York", &in->bk_time_zone),
	    JV_STR_OK("language", 0, 2, 2, booking_language_ok, "must be en or hi", &in->bk_language),
	    JV_END,
	};
	const struct jv_field body[] = {
	    JV_STR("service", 1, 2, 40, &in->service),
	    JV_STR_OK("start", 1, 20, 40, booking_check_rfc3339, BOOKING_START_FORMAT, &in->start),
	    JV_OBJ("location", 1, location, NULL),
	    JV_STR("address", 1, 5, 500, &in->address),
	    JV_OBJ("beneficiary", 1, beneficiary, NULL),
	    JV_OBJ("booker", 0, booker_fields, &booker),
	    JV_END,
	};

	memset(in, 0, sizeof *in);
	if (jv_check_or_reply(r, body) != 0)
		return -1;
	clock_parse_rfc3339(in->start, &in->start_us);
	in->has_booker = booker != NULL;
	if (!in->ben_language)
		in->ben_language = "hi";
	return 0;
}

/* Resolves the service and the zone of the place, which must be in an operator's own
 * district; replies and returns -1 when any of it fails. */
static int booking_resolve_or_reply(struct http_req *r, const struct booking_input *in, const char *lat,
                                    const char *lon, struct booking_context *ctx)
{
	static const char q_context[] =
	    "SELECT s.department, s.fee_paise, z.id AS zone_id, z.district_id, z.time_zone FROM (SELECT 1) one "
	    "LEFT JOIN service s ON s.code = $1 AND s.active "
	    "LEFT JOIN LATERAL (SELECT z.id, z.district_id, d.time_zone FROM zone z JOIN district d ON d.id = "
	    "z.district_id "
	    "                    WHERE ST_Covers(z.area, ST_SetSRID(ST_MakePoint($3, $2), 4326)) ORDER BY z.id LIMIT "
	    "1) z ON true";
	static const char q_tz[] = "SELECT $2::timestamptz AT TIME ZONE $1";
	enum db_status st;
	char now[40];
	int rc = -1;
	const char *p[] = {in->service, lat, lon};
	PGresult *res = db_exec(q_context, 3, p, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (!db_col(res, 0, "department")) {
		http_error_field(r, "service", "no such service; see /api/v1/services");
		goto out;
	}
	if (!db_col(res, 0, "zone_id")) {
		http_error(r, 422, "outside_service_area", "this place is outside every zone served by Mitan");
		goto out;
	}
	/* A call centre serves its own district (district 0: every district, as staff reads go):
	 * its operators must not place visits on another district's agents. */
	if (r->auth.role == ROLE_OPERATOR && r->auth.district_id != 0 &&
	    db_col_ll(res, 0, "district_id") != r->auth.district_id) {
		http_error(r, 403, "other_district",
		           "this place is in another district's zone; an operator books only in their own district");
		goto out;
	}
	snprintf(ctx->department, sizeof ctx->department, "%s", db_col(res, 0, "department"));
	snprintf(ctx->fee, sizeof ctx->fee, "%s", db_col(res, 0, "fee_paise"));
	snprintf(ctx->zone_id, sizeof ctx->zone_id, "%s", db_col(res, 0, "zone_id"));
	snprintf(ctx->district_id, sizeof ctx->district_id, "%s", db_col(res, 0, "district_id"));
	snprintf(ctx->time_zone, sizeof ctx->time_zone, "%s", db_col(res, 0, "time_zone"));
	if (in->bk_time_zone) {
		clock_now_text(now, sizeof now);
		const char *tp[] = {in->bk_time_zone, now};
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

/* The person with this phone, made on first sight (in `time_zone`); the name and preferences
 * are kept from the first time (a later booking by someone else must not rename them). */
static enum db_status booking_person(const char *phone, const char *name, const char *language, const char *time_zone,
                                     const char *now, char id[24])
{
	static const char sql[] =
	    "WITH ins AS (INSERT INTO person (phone, name, language, time_zone, created_at) "
	    "             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (phone) DO NOTHING RETURNING id) "
	    "SELECT id FROM ins UNION ALL SELECT id FROM person WHERE phone = $1 LIMIT 1";
	enum db_status st = DB_OK;
	const char *p[] = {phone, name ? name : "", language ? language : "hi", time_zone, now};
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
	static const char sql[] = "UPDATE person SET name = coalesce($2, name), language = coalesce($3, language), "
	                          "       time_zone = coalesce($4, time_zone) "
	                          " WHERE id = $1 AND (name, language, time_zone) IS DISTINCT FROM "
	                          "       (coalesce($2, name), coalesce($3, language), coalesce($4, time_zone))";
	static const char q_phone[] = "SELECT phone FROM person WHERE id = $1";
	enum db_status st = DB_OK;
	snprintf(id, 24, "%lld", r->auth.id);
	*wrong_phone = 0;
	if (!in->has_booker)
		return DB_OK;
	const char *p[] = {id, in->bk_name, in->bk_language, in->bk_time_zone};
	if (in->bk_phone) {
		PGresult *res = db_exec(q_phone, 1, p, &st);
		*wrong_phone = st == DB_OK && (PQntuples(res) != 1 || strcmp(db_get(res, 0, 0), in->bk_phone) != 0);
		PQclear(res);
		if (st != DB_OK || *wrong_phone)
			return st;
	}
	return db_run(sql, 4, p);
}

/* The booker of a booking: the resident themselves, the person an operator names, or the
 * beneficiary. Replies and returns -1 on a refusal; *st says a database failure. */
static int booking_booker_or_reply(struct http_req *r, const struct booking_input *in,
                                   const struct booking_context *ctx, const char *now, const char *beneficiary_id,
                                   char booker_id[24], enum db_status *st)
{
	int wrong_phone = 0;
	*st = DB_OK;
	if (r->auth.role == ROLE_RESIDENT) {
		*st = booking_resident_booker(r, in, booker_id, &wrong_phone);
		if (*st == DB_OK && wrong_phone) {
			http_error_field(r, "booker.phone", "must be your own phone: you are the booker");
			return -1;
		}
	} else if (in->has_booker) {
		*st = booking_person(in->bk_phone, in->bk_name, in->bk_language,
		                     in->bk_time_zone ? in->bk_time_zone : ctx->time_zone, now, booker_id);
	} else {
		snprintf(booker_id, 24, "%s", beneficiary_id);
	}
	return 0;
}

/* One attempt at the booking transaction. Returns DB_RETRY to be tried again; any other
 * outcome has been replied to. */
static enum db_status booking_create_tx(struct http_req *r, const struct booking_input *in,
                                        const struct booking_context *ctx, const char *lat, const char *lon)
{
	static const char q_insert[] =
	    "INSERT INTO booking (district_id, reference, tracking_hash, service_code, booker_id, beneficiary_id, "
	    "                     beneficiary_name, beneficiary_language, address, location, zone_id, window_start, "
	    "                     window_end, agent_id, status, fee_paise, created_by_role, created_by_id, created_at, "
	    "                     updated_at) "
	    "VALUES ($1, $2, decode($3, 'hex'), $4, $5, $6, $7, $8, $9, ST_SetSRID(ST_MakePoint($11, $10), 4326), $12, "
	    "$13, "
	    "        $14, $15, $16, $17, $18, $19, $20, $20) RETURNING id";
	static const char q_reply[] = "SELECT (booking_json(b, $2) || jsonb_build_object('tracking_url', "
	                              "$3::text))::text FROM booking b WHERE b.id = $1";
	const struct booking_transition *t = booking_transition_find(BOOKING_CREATE, NULL, "booked");
	struct booking_change change = {0};
	struct idem idem;
	struct db_args a = {0};
	char now[40], booker_id[24], beneficiary_id[24], agent_id[16], window_end[40], reference[18];
	char token[TRACKING_TOKEN_LEN + 1], tracking_hash[65], url[300], booking_id[24];
	enum db_status st;
	PGresult *res = NULL;
	int taken = 0;

	clock_now_text(now, sizeof now);
	st = db_begin();
	if (st != DB_OK)
		goto db_fail;
	if (idem_begin(r, &idem) != 0)
		goto out; /* replayed or refused */
	/* After the key: a repeat of a booking made in time replays even once the window closed. */
	if (booking_check_start_or_reply(r, in->start_us) != 0)
		goto out;
	st = booking_person(in->ben_phone, in->ben_name, in->ben_language, ctx->time_zone, now, beneficiary_id);
	if (st != DB_OK)
		goto db_fail;
	if (booking_booker_or_reply(r, in, ctx, now, beneficiary_id, booker_id, &st) != 0)
		goto out;
	if (st != DB_OK)
		goto db_fail;
	st = booking_take_unit(ctx->zone_id, in->start, in->service, ctx->department, lat, lon, NULL, &taken, agent_id,
	                       window_end);
	if (st != DB_OK)
		goto db_fail;
	if (!taken) {
		booking_reply_no_unit(r, ctx->zone_id, in->start, in->service, ctx->department);
		goto out;
	}
	if (crypto_reference(reference) != 0) {
		http_error(r, 500, "internal_error", "no randomness available");
		goto out;
	}
	tracking_token(reference, token, tracking_hash);
	tracking_url(reference, url, sizeof url);
	db_arg_text(&a, ctx->district_id);
	db_arg_text(&a, reference);
	db_arg_text(&a, tracking_hash);
	db_arg_text(&a, in->service);
	db_arg_text(&a, booker_id);
	db_arg_text(&a, beneficiary_id);
	db_arg_text(&a, in->ben_name);
	db_arg_text(&a, in->ben_language);
	db_arg_text(&a, in->address);
	db_arg_text(&a, lat);
	db_arg_text(&a, lon);
	db_arg_text(&a, ctx->zone_id);
	db_arg_text(&a, in->start);
	db_arg_text(&a, window_end);
	db_arg_text(&a, agent_id);
	db_arg_text(&a, t->to);
	db_arg_text(&a, ctx->fee);
	db_arg_text(&a, auth_role_name(r->auth.role));
	db_arg_ll(&a, r->auth.id);
	db_arg_text(&a, now);
	res = db_exec(q_insert, a.n, a.v, &st);
	if (st != DB_OK)
		goto db_fail;
	snprintf(booking_id, sizeof booking_id, "%s", db_get(res, 0, 0));
	PQclear(res);
	res = NULL;
	change.booking_id = booking_id;
	change.reference = reference;
	change.role = r->auth.role;
	change.actor = r->auth.id;
	change.now = now;
	change.sms_url = url;
	change.sms_dedupe = t->action;
	st = booking_change_apply(t, &change);
	if (st != DB_OK)
		goto db_fail;
	const char *fp[] = {booking_id, in->bk_language ? in->bk_language : http_lang(r), url};
	res = db_exec(q_reply, 3, fp, &st);
	if (st != DB_OK)
		goto db_fail;
	const char *body = db_get(res, 0, 0);
	st = idem_finish(&idem, 201, body);
	if (st == DB_OK)
		st = db_commit();
	if (st != DB_OK)
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

	if (booking_parse_or_reply(r, &in) != 0)
		return;
	snprintf(lat, sizeof lat, "%.7f", in.lat);
	snprintf(lon, sizeof lon, "%.7f", in.lon);
	if (booking_resolve_or_reply(r, &in, lat, lon, &ctx) != 0)
		return;
	for (int i = 0; i < BOOKING_TRIES && st == DB_RETRY && !r->status; i++)
		st = booking_create_tx(r, &in, &ctx, lat, lon);
	if (!r->status)
		http_error_db(r, st);
}

/* ---- read ---- */

/* The booking with this reference if the caller may see it: a resident's own, their
 * district's for staff, an agent's assigned visit. Columns by name: id, reference, status,
 * district_id, zone_id, service_code, department, agent_id, window_start (RFC 3339 in UTC,
 * with microseconds, so that clock_parse_rfc3339 reads it), lat, lon, started. */
static PGresult *booking_load(struct http_req *r, int for_update, enum db_status *st)
{
#define BOOKING_LOAD                                                                                                   \
	"SELECT b.id, b.reference, b.status, b.district_id, b.zone_id, b.service_code, s.department, b.agent_id, "     \
	"       to_char(b.window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS window_start, "     \
	"       ST_Y(b.location) AS lat, ST_X(b.location) AS lon, b.window_start <= $5::timestamptz AS started "       \
	"FROM booking b JOIN service s ON s.code = b.service_code WHERE b.reference = $1 AND ( "                       \
	"  ($2 = 'resident' AND (b.booker_id = $3::bigint OR b.beneficiary_id = $3::bigint)) OR "                      \
	"  ($2 IN ('operator', 'officer', 'committee', 'admin') AND ($4::int = 0 OR b.district_id = $4::int)) OR "     \
	"  ($2 = 'agent' AND b.agent_id = $3::bigint)) "
	static const char q_read[] = BOOKING_LOAD;
	static const char q_lock[] = BOOKING_LOAD "FOR UPDATE OF b";
#undef BOOKING_LOAD
	struct db_args a = {0};
	char now[40];
	clock_now_text(now, sizeof now);
	db_arg_text(&a, r->params[0]);
	db_arg_text(&a, auth_role_name(r->auth.role));
	db_arg_ll(&a, r->auth.id);
	db_arg_ll(&a, r->auth.district_id);
	db_arg_text(&a, now);
	return db_exec(for_update ? q_lock : q_read, a.n, a.v, st);
}

/* The caller's booking r->params[0] if they may see it; replies 404 (or the database's
 * error) and returns NULL when not. */
static PGresult *booking_find_or_reply(struct http_req *r, int for_update)
{
	enum db_status st;
	PGresult *res = booking_load(r, for_update, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
	} else if (PQntuples(res) != 1) {
		http_error(r, 404, "not_found", "no booking with this reference is %s",
		           r->auth.role == ROLE_AGENT ? "assigned to you" : "yours to see");
	} else {
		return res;
	}
	PQclear(res);
	return NULL;
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
		tracking_url(reference, url, sizeof url);
		json_object_set_new(one, "tracking_url", json_string(url));
	}
	http_reply_json(r, 200, body);
}

void booking_get(struct http_req *r)
{
	static const char sql[] = "SELECT booking_json(b, $2)::text FROM booking b WHERE id = $1";
	enum db_status st;
	PGresult *found = booking_find_or_reply(r, 0), *res = NULL;
	if (!found)
		goto out;
	const char *p[] = {db_col(found, 0, "id"), http_lang(r)};
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
	char phone[24], status[24];
	int has_phone = http_query(r, "phone", phone, sizeof phone);
	int has_status = http_query(r, "status", status, sizeof status);
	if (has_phone && (has_phone < 0 || !account_phone_valid(phone))) {
		http_error_field(r, "phone", ACCOUNT_PHONE_FORMAT);
		return;
	}
	if (has_status && (has_status < 0 || !booking_state_known(status))) {
		http_error_field(r, "status", "must be a booking status, e.g. certificate_ready");
		return;
	}
	struct db_args a = {0};
	db_arg_text(&a, auth_role_name(r->auth.role));
	db_arg_ll(&a, r->auth.id);
	db_arg_ll(&a, r->auth.district_id);
	db_arg_text(&a, has_phone && r->auth.role != ROLE_RESIDENT ? phone : NULL);
	db_arg_text(&a, http_lang(r));
	db_arg_text(&a, has_status ? status : NULL);
	enum db_status st;
	PGresult *res = db_exec(sql, a.n, a.v, &st);
	if (st != DB_OK)
		http_error_db(r, st);
	else
		booking_reply_tracked(r, db_get(res, 0, 0));
	PQclear(res);
}

/* ---- changes: cancel, reschedule, the office's steps ---- */

enum booking_begin { BOOKING_GO, BOOKING_REPEAT, BOOKING_REPLIED };

/* The preamble of every change of one booking by its owner or the office: begins the
 * transaction, locks the caller's booking, finds the change `kind` from its state to `to`
 * (NULL: the kind's one target) and checks who may and when. BOOKING_GO with *b and *t set;
 * BOOKING_REPEAT when the booking already is `to` (a repeat changes nothing); BOOKING_REPLIED
 * when refused (rolled back, replied). */
static enum booking_begin booking_begin_or_reply(struct http_req *r, enum booking_change_kind kind, const char *to,
                                                 PGresult **b, const struct booking_transition **t)
{
	enum db_status st = db_begin();
	*b = NULL;
	if (st != DB_OK) {
		http_error_db(r, st);
		return BOOKING_REPLIED;
	}
	*b = booking_find_or_reply(r, 1);
	if (!*b)
		goto refused;
	const char *from = db_col(*b, 0, "status");
	if (to && strcmp(from, to) == 0)
		return BOOKING_REPEAT;
	*t = booking_transition_find(kind, from, to);
	if (!*t) {
		http_error(r, 409, "wrong_state", "a booking that is %s cannot be %s", from,
		           to                       ? to
		           : kind == BOOKING_CANCEL ? "cancelled"
		                                    : "rescheduled");
		goto refused;
	}
	if (!booking_transition_allows(*t, r->auth.role)) {
		http_error(r, 403, "forbidden", "you may not make this change");
		goto refused;
	}
	if (((*t)->effects & BOOKING_BEFORE_WINDOW) && db_col_true(*b, 0, "started")) {
		http_error(r, 409, "window_started", "the visit window has already begun; call the helpline");
		goto refused;
	}
	return BOOKING_GO;
refused:
	db_rollback();
	PQclear(*b);
	*b = NULL;
	return BOOKING_REPLIED;
}

/* A change filled from the locked row `b`, by the caller. */
static void booking_change_of(struct http_req *r, PGresult *b, const char *now, struct booking_change *c)
{
	memset(c, 0, sizeof *c);
	c->booking_id = db_col(b, 0, "id");
	c->reference = db_col(b, 0, "reference");
	c->from = db_col(b, 0, "status");
	c->role = r->auth.role;
	c->actor = r->auth.id;
	c->now = now;
	c->unit_agent = db_col(b, 0, "agent_id");
	c->unit_start = db_col(b, 0, "window_start");
}

/* Commits `st`'s transaction and replies with the booking as it is now. */
static void booking_finish_or_reply(struct http_req *r, PGresult *b, enum db_status st)
{
	static const char q_reply[] = "SELECT booking_json(b, $2)::text FROM booking b WHERE id = $1";
	if (st == DB_OK)
		st = db_commit();
	if (st != DB_OK) {
		db_rollback();
		http_error_db(r, st);
		return;
	}
	slots_invalidate(db_col_ll(b, 0, "zone_id"));
	const char *p[] = {db_col(b, 0, "id"), http_lang(r)};
	http_reply_query(r, q_reply, 2, p);
}

void booking_cancel(struct http_req *r)
{
	const char *reason = NULL;
	const struct jv_field body[] = {JV_STR("reason", 0, 1, 300, &reason), JV_END};
	const struct booking_transition *t = NULL;
	struct booking_change change;
	char now[40];
	PGresult *b = NULL;

	if (jv_check_or_reply(r, body) != 0)
		return;
	if (booking_begin_or_reply(r, BOOKING_CANCEL, NULL, &b, &t) != BOOKING_GO)
		goto out;
	clock_now_text(now, sizeof now);
	booking_change_of(r, b, now, &change);
	change.note = reason;
	change.sms_dedupe = t->action;
	booking_finish_or_reply(r, b, booking_change_apply(t, &change));
out:
	PQclear(b);
}

void booking_reschedule(struct http_req *r)
{
	const char *start = NULL;
	const struct jv_field body[] = {
	    JV_STR_OK("start", 1, 20, 40, booking_check_rfc3339, BOOKING_START_FORMAT, &start),
	    JV_END,
	};
	const struct booking_transition *t = NULL;
	struct booking_change change;
	char now[40], agent_id[16], window_end[40], dedupe[48];
	int64_t start_us, old_us;
	int taken = 0;
	enum db_status st;
	PGresult *b = NULL;

	if (jv_check_or_reply(r, body) != 0)
		return;
	clock_parse_rfc3339(start, &start_us);
	if (booking_check_start_or_reply(r, start_us) != 0)
		return;
	if (booking_begin_or_reply(r, BOOKING_RESCHEDULE, NULL, &b, &t) != BOOKING_GO)
		goto out;
	if (clock_parse_rfc3339(db_col(b, 0, "window_start"), &old_us) == 0 && old_us == start_us) {
		db_rollback();
		http_error(r, 409, "same_window", "the booking is already in this window");
		goto out;
	}
	/* Take the new unit before giving the old one back: if the new window is full,
	 * nothing changes. */
	st = booking_take_unit(db_col(b, 0, "zone_id"), start, db_col(b, 0, "service_code"), db_col(b, 0, "department"),
	                       db_col(b, 0, "lat"), db_col(b, 0, "lon"), NULL, &taken, agent_id, window_end);
	if (st == DB_OK && !taken) {
		db_rollback();
		booking_reply_no_unit(r, db_col(b, 0, "zone_id"), start, db_col(b, 0, "service_code"),
		                      db_col(b, 0, "department"));
		goto out;
	}
	clock_now_text(now, sizeof now);
	snprintf(dedupe, sizeof dedupe, "to:%lld", (long long)(start_us / 1000000));
	booking_change_of(r, b, now, &change);
	change.new_agent = agent_id;
	change.new_start = start;
	change.new_end = window_end;
	change.sms_dedupe = dedupe;
	if (st == DB_OK)
		st = booking_change_apply(t, &change);
	booking_finish_or_reply(r, b, st);
out:
	PQclear(b);
}

/* The office's steps after the visit: submitted to the department, the certificate is ready,
 * delivered, or rejected by the department. A repeat changes nothing. */
void booking_office_step(struct http_req *r)
{
	const char *status = NULL, *note = NULL;
	const struct jv_field body[] = {
	    JV_STR_OK("status", 1, 1, 40, booking_office_status_ok,
	              "must be one of submitted, certificate_ready, delivered, rejected", &status),
	    JV_STR("note", 0, 0, 500, &note),
	    JV_END,
	};
	const struct booking_transition *t = NULL;
	struct booking_change change;
	char now[40];
	PGresult *b = NULL;

	if (jv_check_or_reply(r, body) != 0)
		return;
	switch (booking_begin_or_reply(r, BOOKING_OFFICE_STEP, status, &b, &t)) {
	case BOOKING_REPLIED:
		goto out;
	case BOOKING_REPEAT:
		booking_finish_or_reply(r, b, DB_OK);
		goto out;
	case BOOKING_GO:
		break;
	}
	clock_now_text(now, sizeof now);
	booking_change_of(r, b, now, &change);
	change.note = note;
	booking_finish_or_reply(r, b, booking_change_apply(t, &change));
	log_info("booking %s: %s -> %s by the office", r->params[0], change.from, status);
out:
	PQclear(b);
}

/* ---- receipt and tracking ---- */

void booking_receipt(struct http_req *r)
{
	static const char sql[] =
	    "SELECT b.reference, s.name_en, s.name_hi, window_label(b.window_start, b.window_end, d.time_zone, 'en'), "
	    "       to_char(b.fee_paise / 100.0, 'FM999990.00'), b.status "
	    "FROM booking b JOIN service s ON s.code = b.service_code JOIN district d ON d.id = b.district_id "
	    "WHERE b.id = $1";
	char url[300];
	buf_t svg;
	enum db_status st;
	QRcode *qr = NULL;
	PGresult *found = NULL, *res = NULL;

	buf_init(&svg, 1u << 20);
	found = booking_find_or_reply(r, 0);
	if (!found)
		goto out;
	const char *p[] = {db_col(found, 0, "id")};
	res = db_exec(sql, 1, p, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	tracking_url(db_get(res, 0, 0), url, sizeof url);
	qr = QRcode_encodeString(url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!qr) {
		http_error(r, 500, "internal_error", "the QR code could not be made");
		goto out;
	}
	/* The QR code with a 4-module quiet zone, 4 px a module, and the receipt text below. */
	int side = (qr->width + 8) * 4, height = side + 150;
	int rc =
	    buf_printf(&svg,
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
	const char *lines[] = {"Mitan receipt / मितान रसीद",
	                       db_get(res, 0, 0),
	                       db_get(res, 0, 1),
	                       db_get(res, 0, 2),
	                       db_get(res, 0, 3),
	                       "Fee / शुल्क: Rs "};
	for (int i = 0; i < 6; i++) {
		rc |= buf_printf(&svg, "<text x=\"16\" y=\"%d\"%s>", side + 18 + i * 21,
		                 i < 2 ? " font-weight=\"bold\"" : "");
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
	    "SELECT b.reference, s.name_en, s.name_hi, status_label(b.status, 'hi') || ' / ' || status_label(b.status, "
	    "'en'), "
	    "       window_label(b.window_start, b.window_end, d.time_zone, 'en'), "
	    "       window_label(b.window_start, b.window_end, d.time_zone, 'hi'), "
	    "       jsonb_build_object('reference', b.reference, 'status', b.status, "
	    "         'service', jsonb_build_object('code', s.code, 'name_en', s.name_en, 'name_hi', s.name_hi), "
	    "         'window', jsonb_build_object('start', rfc3339(b.window_start, d.time_zone), "
	    "                                      'end', rfc3339(b.window_end, d.time_zone)), "
	    "         'events', (SELECT jsonb_agg(jsonb_build_object('at', rfc3339(e.at, d.time_zone), 'status', "
	    "e.to_status) "
	    "                                     ORDER BY e.id) FROM booking_event e WHERE e.booking_id = "
	    "b.id))::text "
	    "FROM booking b JOIN service s ON s.code = b.service_code JOIN district d ON d.id = b.district_id "
	    "WHERE b.tracking_hash = decode($1, 'hex')";
	char hash[65];
	enum db_status st;
	buf_t page;
	PGresult *res = NULL;
	const char *accept = http_header(r, "Accept");

	buf_init(&page, 1u << 16);
	if (tracking_hash_of(r->params[0], hash) != 0) {
		http_error(r, 404, "not_found", "no booking has this tracking code");
		goto out;
	}
	const char *p[] = {hash};
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
