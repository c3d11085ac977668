#include "booking/slots.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "util.h"

#define SLOTS_DAYS_DEFAULT 7

/* Reads a query number in [min, max] into out; replies 400 and returns -1 when bad. */
static int slots_query_number(struct http_req *r, const char *name, double min, double max, double *out)
{
	char text[40];
	int q = http_query(r, name, text, sizeof text);
	if (q != 1 || parse_double(text, out) != 0 || *out < min || *out > max) {
		char msg[96];
		snprintf(msg, sizeof msg, "%s, a number from %g to %g", q == 1 ? "must be" : "is required", min, max);
		http_error_field(r, name, msg);
		return -1;
	}
	return 0;
}

/* Availability changes only when someone books, cancels or reschedules, and is read far
 * more often: each zone's answer is kept for cfg.slots_cache_ms, and dropped at once when
 * this process changes a booking in that zone. (Another process's change shows within the
 * time to live; the booking itself is always decided by the ledger.) */
#define SLOTS_CACHE_SIZE       256
#define SLOTS_ZONE_GENERATIONS 64

struct slots_entry {
	char key[96];
	long zone;
	unsigned generation;
	int64_t expires_us;
	char *json;
};

static struct slots_entry slots_cache[SLOTS_CACHE_SIZE];
static unsigned slots_generation[SLOTS_ZONE_GENERATIONS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

static struct slots_entry *slots_entry_for(const char *key)
{
	unsigned h = 2166136261u; /* FNV-1a */
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &slots_cache[h % SLOTS_CACHE_SIZE];
}

void slots_invalidate(long zone)
{
	pthread_mutex_lock(&slots_lock);
	slots_generation[(unsigned long)zone % SLOTS_ZONE_GENERATIONS]++;
	pthread_mutex_unlock(&slots_lock);
}

/* A copy of the cached answer, or NULL. */
static char *slots_cache_get(const char *key, long zone)
{
	char *json = NULL;
	pthread_mutex_lock(&slots_lock);
	struct slots_entry *e = slots_entry_for(key);
	if (e->json && strcmp(e->key, key) == 0 && e->expires_us > clock_now_us() &&
	    e->generation == slots_generation[(unsigned long)zone % SLOTS_ZONE_GENERATIONS])
		json = xstrdup(e->json);
	pthread_mutex_unlock(&slots_lock);
	return json;
}

static void slots_cache_put(const char *key, long zone, unsigned generation, const char *json)
{
	pthread_mutex_lock(&slots_lock);
	struct slots_entry *e = slots_entry_for(key);
	free(e->json);
	snprintf(e->key, sizeof e->key, "%s", key);
	e->zone = zone;
	e->generation = generation;
	e->expires_us = clock_now_us() + cfg.slots_cache_ms * 1000;
	e->json = xstrdup(json);
	pthread_mutex_unlock(&slots_lock);
}

static unsigned slots_generation_of(long zone)
{
	pthread_mutex_lock(&slots_lock);
	unsigned g = slots_generation[(unsigned long)zone % SLOTS_ZONE_GENERATIONS];
	pthread_mutex_unlock(&slots_lock);
	return g;
}

void slots_list(struct http_req *r)
{
	/* The zone whose polygon covers the place, its time zone and the first local day. */
	static const char q_place[] =
	    "SELECT (SELECT count(*) FROM service WHERE code = $1 AND active) AS services, z.id AS zone, z.time_zone, "
	    "       coalesce($4::date, ($5::timestamptz AT TIME ZONE z.time_zone)::date)::text AS first_day "
	    "FROM (SELECT 1) one "
	    "LEFT JOIN LATERAL (SELECT z.id, d.time_zone FROM zone z JOIN district d ON d.id = z.district_id "
	    "                    WHERE ST_Covers(z.area, ST_SetSRID(ST_MakePoint($3, $2), 4326)) "
	    "                    ORDER BY z.id LIMIT 1) z ON true";
	/* The windows of the agents who could serve it: capable, active, of that zone, from
	 * the later of the first day and now + lead time. The few capable agents first, then
	 * their windows by primary key: several times cheaper than joining every window of
	 * the zone to its agent. */
	static const char q_windows[] =
	    "SELECT coalesce(json_agg(json_build_object('start', rfc3339(w.starts_at, $7), 'end', rfc3339(w.ends_at, "
	    "$7), "
	    "                                           'remaining', w.remaining) ORDER BY w.starts_at), '[]')::text "
	    "FROM (SELECT w.starts_at, max(w.ends_at) AS ends_at, sum(w.capacity - w.booked) AS remaining "
	    "        FROM agent_window w "
	    "       WHERE w.agent_id = ANY (ARRAY(SELECT a.id FROM agent a JOIN service s ON s.code = $2 "
	    "                                     WHERE a.zone_id = $1::int AND a.active "
	    "                                       AND a.skills && ARRAY[s.code, s.department, '*'])) "
	    "         AND w.zone_id = $1::int "
	    "         AND w.starts_at >= greatest($3::date::timestamp AT TIME ZONE $7, "
	    "                                     $4::timestamptz + make_interval(mins => $6::int)) "
	    "         AND w.starts_at < ($3::date + $5::int)::timestamp AT TIME ZONE $7 "
	    "       GROUP BY w.starts_at) w";
	struct db_args place = {0}, windows = {0};
	char service[48], from[16], days_text[8], now[40], key[96];
	double lat, lon;
	long ndays = SLOTS_DAYS_DEFAULT, zone;
	enum db_status st;
	PGresult *res = NULL, *win = NULL;
	char *cached = NULL;

	if (http_query(r, "service", service, sizeof service) != 1 || !service[0]) {
		http_error_field(r, "service", "is required: a service code from /api/v1/services");
		goto out;
	}
	if (slots_query_number(r, "lat", -90, 90, &lat) != 0 || slots_query_number(r, "lon", -180, 180, &lon) != 0)
		goto out;
	int has_from = http_query(r, "from", from, sizeof from);
	if (has_from && (has_from < 0 || !clock_date_valid(from))) {
		http_error_field(r, "from", "must be a date YYYY-MM-DD");
		goto out;
	}
	int has_days = http_query(r, "days", days_text, sizeof days_text);
	if (has_days && (has_days < 0 || parse_long(days_text, 1, cfg.booking_days_ahead, &ndays) != 0)) {
		char msg[64];
		snprintf(msg, sizeof msg, "must be a whole number from 1 to %ld", cfg.booking_days_ahead);
		http_error_field(r, "days", msg);
		goto out;
	}
	clock_now_text(now, sizeof now);
	db_arg_text(&place, service);
	db_arg_double(&place, lat);
	db_arg_double(&place, lon);
	db_arg_text(&place, has_from ? from : NULL);
	db_arg_text(&place, now);
	res = db_exec(q_place, place.n, place.v, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (db_col_ll(res, 0, "services") == 0) {
		http_error_field(r, "service", "no such service");
		goto out;
	}
	if (!db_col(res, 0, "zone")) {
		http_error(r, 422, "outside_service_area", "this place is outside every zone served by Mitan");
		goto out;
	}
	zone = db_col_ll(res, 0, "zone");
	const char *first_day = db_col(res, 0, "first_day");
	snprintf(key, sizeof key, "%ld|%s|%s|%ld", zone, service, first_day, ndays);
	if (cfg.slots_cache_ms > 0)
		cached = slots_cache_get(key, zone);
	if (cached) {
		http_reply_json_text(r, 200, cached);
		goto out;
	}
	unsigned generation = slots_generation_of(zone);
	db_arg_ll(&windows, zone);
	db_arg_text(&windows, service);
	db_arg_text(&windows, first_day);
	db_arg_text(&windows, now);
	db_arg_ll(&windows, ndays);
	db_arg_ll(&windows, cfg.booking_lead_minutes);
	db_arg_text(&windows, db_col(res, 0, "time_zone"));
	win = db_exec(q_windows, windows.n, windows.v, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (cfg.slots_cache_ms > 0)
		slots_cache_put(key, zone, generation, db_get(win, 0, 0));
	http_reply_json_text(r, 200, db_get(win, 0, 0));
out:
	free(cached);
	PQclear(res);
	PQclear(win);
}
