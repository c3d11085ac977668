#include "slots.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "util.h"

int slots_parse_date(const char *s)
{
	char probe[32];
	int64_t us;
	if (strlen(s) != 10)
		return -1;
	snprintf(probe, sizeof probe, "%sT00:00:00Z", s);
	return clock_parse_rfc3339(probe, &us);
}

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

void slots_list(struct http_req *r)
{
	/* Windows of the agents who could serve this place: capable, active, in the zone
	 * whose polygon covers it, from the later of `from` and now + lead time. */
	static const char sql[] =
		"WITH z AS (SELECT z.id, d.time_zone FROM zone z JOIN district d ON d.id = z.district_id "
		"            WHERE ST_Covers(z.area, ST_SetSRID(ST_MakePoint($3, $2), 4326)) ORDER BY z.id LIMIT 1), "
		"     s AS (SELECT code, department FROM service WHERE code = $1 AND active), "
		"     f AS (SELECT coalesce($4::date, ($5::timestamptz AT TIME ZONE z.time_zone)::date) AS day FROM z) "
		"SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM z), "
		"  (SELECT coalesce(json_agg(json_build_object('start', rfc3339(w.starts_at, z.time_zone), "
		"                                              'end', rfc3339(w.ends_at, z.time_zone), "
		"                                              'remaining', w.remaining) ORDER BY w.starts_at), '[]') "
		"     FROM z, f, (SELECT w.starts_at, max(w.ends_at) AS ends_at, sum(w.capacity - w.booked) AS remaining "
		"                   FROM agent_window w JOIN agent a ON a.id = w.agent_id, z, s, f "
		"                  WHERE w.zone_id = z.id AND a.active "
		"                    AND a.skills && ARRAY[s.code, s.department, '*'] "
		"                    AND w.starts_at >= greatest((f.day::timestamp AT TIME ZONE z.time_zone), "
		"                                                $5::timestamptz + make_interval(mins => $7::int)) "
		"                    AND w.starts_at < ((f.day + $6::int)::timestamp AT TIME ZONE z.time_zone) "
		"                  GROUP BY w.starts_at) w)::text";
	char service[48], from[16], days_text[8], now[40], days[8], lat_text[32], lon_text[32], lead[16];
	double lat, lon;
	long ndays = 7;
	enum db_status st;
	PGresult *res = NULL;

	if (http_query(r, "service", service, sizeof service) != 1 || !service[0]) {
		http_error_field(r, "service", "is required: a service code from /api/v1/services");
		goto out;
	}
	if (slots_query_number(r, "lat", -90, 90, &lat) != 0 || slots_query_number(r, "lon", -180, 180, &lon) != 0)
		goto out;
	int has_from = http_query(r, "from", from, sizeof from);
	if (has_from && (has_from < 0 || slots_parse_date(from) != 0)) {
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
	snprintf(lat_text, sizeof lat_text, "%.7f", lat);
	snprintf(lon_text, sizeof lon_text, "%.7f", lon);
	snprintf(days, sizeof days, "%ld", ndays);
	snprintf(lead, sizeof lead, "%ld", cfg.booking_lead_minutes);
	clock_now_text(now, sizeof now);
	const char *params[] = { service, lat_text, lon_text, has_from ? from : NULL, now, days, lead };
	res = db_exec(sql, 7, params, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (db_get_ll(res, 0, 0) == 0)
		http_error_field(r, "service", "no such service");
	else if (db_get_ll(res, 0, 1) == 0)
		http_error(r, 422, "outside_service_area", "this place is outside every zone served by Mitan");
	else
		http_reply_json_text(r, 200, db_get(res, 0, 2));
out:
	PQclear(res);
}
