#include "office/office.h"

#include <string.h>

#include "clock.h"
#include "config.h"
#include "planner/plan.h"

/* ---- plans ---- */

void office_plan_run(struct http_req *r)
{
	static const char q_zones[] = "SELECT z.code FROM zone z WHERE ($1::int = 0 OR z.district_id = $1::int) AND "
	                              "($2::text IS NULL OR z.code = $2) "
	                              "ORDER BY z.code";
	const char *day = NULL, *zone = NULL;
	const struct jv_field fields[] = {
	    JV_STR_OK("date", 1, 10, 10, clock_date_valid, "must be YYYY-MM-DD", &day),
	    JV_STR("zone", 0, 2, 16, &zone),
	    JV_END,
	};
	struct db_args a = {0};
	enum db_status st;
	json_t *out = NULL;
	PGresult *zones = NULL;

	if (jv_check_or_reply(r, fields) != 0)
		return;
	db_arg_ll(&a, r->auth.district_id);
	db_arg_text(&a, zone);
	zones = db_exec(q_zones, a.n, a.v, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(zones) == 0) {
		http_error(r, 404, "not_found", "no such zone in your district");
		goto out;
	}
	/* max_rounds: the planner's default */
	struct plan_options o = {.seed = 1, .time_limit_s = (double)cfg.plan_time_limit_s};
	out = json_array();
	for (int i = 0; i < PQntuples(zones); i++) {
		struct plan_report rep;
		int found = 0;
		st = plan_zone_day(db_col(zones, i, "code"), day, r->auth.district_id, auth_role_name(r->auth.role),
		                   r->auth.id, &o, 0, &rep, &found);
		if (st != DB_OK) {
			http_error_db(r, st);
			goto out;
		}
		json_array_append_new(
		    out, json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:f, s:f}", "zone", rep.zone, "date", rep.day,
		                   "visits", rep.visits, "agents", rep.agents, "routed", rep.routed, "moved", rep.moved,
		                   "unroutable", rep.unroutable, "travel_km", rep.travel_km, "seconds", rep.seconds));
	}
	http_reply_json(r, 200, out);
	out = NULL;
out:
	json_decref(out);
	PQclear(zones);
}

void office_plan_get(struct http_req *r)
{
	/* Per zone, each agent's visits in route order; visits not in a route at the end. */
	static const char sql[] =
	    "WITH v AS (SELECT b.*, d.time_zone FROM booking b JOIN district d ON d.id = b.district_id JOIN zone z ON "
	    "z.id = b.zone_id "
	    "            WHERE ($1::int = 0 OR b.district_id = $1::int) AND ($3::text IS NULL OR z.code = $3) "
	    "              AND b.status NOT IN ('cancelled', 'rescheduled') "
	    "              AND (b.window_start AT TIME ZONE d.time_zone)::date = $2::date), "
	    "     visit AS (SELECT v.agent_id, v.zone_id, v.route_order, v.window_start, v.id, jsonb_build_object("
	    "                 'reference', v.reference, 'status', v.status, 'route_order', v.route_order, "
	    "                 'planned_arrival', rfc3339(v.planned_arrival, v.time_zone), 'service', v.service_code, "
	    "                 'needs_attention', v.needs_attention, "
	    "                 'window', jsonb_build_object('start', rfc3339(v.window_start, v.time_zone), 'end', "
	    "rfc3339(v.window_end, v.time_zone)), "
	    "                 'location', jsonb_build_object('lat', ST_Y(v.location), 'lon', ST_X(v.location))) AS j "
	    "FROM v), "
	    "     per_agent AS (SELECT x.zone_id, jsonb_build_object('code', a.code, 'name', a.name, "
	    "                     'visits', jsonb_agg(x.j ORDER BY x.route_order NULLS LAST, x.window_start, x.id)) AS "
	    "j, a.code "
	    "                   FROM visit x JOIN agent a ON a.id = x.agent_id GROUP BY x.zone_id, a.id, a.code, "
	    "a.name) "
	    "SELECT coalesce(jsonb_agg(jsonb_build_object('zone', z.code, 'date', $2::text, "
	    "         'last_run', (SELECT jsonb_build_object('at', rfc3339(pr.created_at, (SELECT d.time_zone FROM "
	    "district d WHERE d.id = pr.district_id)), 'travel_km', round(pr.travel_km::numeric, 3), "
	    "                             'moved', pr.moved, 'unroutable', pr.unroutable) FROM plan_run pr "
	    "                       WHERE pr.zone_id = z.id AND pr.day = $2::date ORDER BY pr.id DESC LIMIT 1), "
	    "         'agents', coalesce((SELECT jsonb_agg(p.j ORDER BY p.code) FROM per_agent p WHERE p.zone_id = "
	    "z.id), '[]')) "
	    "       ORDER BY z.code), '[]')::text "
	    "FROM zone z WHERE ($1::int = 0 OR z.district_id = $1::int) AND ($3::text IS NULL OR z.code = $3)";
	struct db_args a = {0};
	char day[16], zone[20];
	enum db_status st;
	PGresult *res = NULL;
	int has_day = http_query(r, "date", day, sizeof day);
	int has_zone = http_query(r, "zone", zone, sizeof zone);
	if (has_day != 1 || !clock_date_valid(day)) {
		http_error_field(r, "date", "is required, as YYYY-MM-DD");
		return;
	}
	if (has_zone < 0) {
		http_error_field(r, "zone", "is not a zone code");
		return;
	}
	db_arg_ll(&a, r->auth.district_id);
	db_arg_text(&a, day);
	db_arg_text(&a, has_zone ? zone : NULL);
	res = db_exec(sql, a.n, a.v, &st);
	if (st != DB_OK)
		http_error_db(r, st);
	else if (has_zone && strcmp(db_get(res, 0, 0), "[]") == 0)
		http_error(r, 404, "not_found", "no such zone in your district");
	else
		http_reply_json_text(r, 200, db_get(res, 0, 0));
	PQclear(res);
}
