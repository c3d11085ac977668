#include "office/office.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/account.h"
#include "booking/booking.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "log.h"
#include "planner/plan.h"
#include "util.h"
#include "booking/visit.h"
/* ---- zones ---- */

/* One zone as a GeoJSON feature, from zone z joined with its district d. */
#define OFFICE_ZONE_FEATURE                                                                                     \
	"jsonb_build_object('type', 'Feature', 'id', z.code, 'geometry', ST_AsGeoJSON(z.area, 7)::jsonb, "     \
	"  'properties', jsonb_build_object('code', z.code, 'name_en', z.name_en, 'name_hi', z.name_hi, "      \
	"                                   'district', d.code))"

void office_zones_list(struct http_req *r)
{
	static const char sql[] =
		"SELECT jsonb_build_object('type', 'FeatureCollection', 'features', "
		"       coalesce(jsonb_agg(" OFFICE_ZONE_FEATURE " ORDER BY z.code), '[]'))::text "
		"FROM zone z JOIN district d ON d.id = z.district_id WHERE ($1::int = 0 OR z.district_id = $1::int)";
	char actor[24], district[24];
	office_ids(r, actor, district);
	const char *p[] = { district };
	http_reply_query(r, sql, 1, p);
}

/* The same outlines for anyone (no personal data in them): the resident app's map and its
 * list of areas. ?district=CODE narrows to one district. */
void office_zones_public(struct http_req *r)
{
	static const char sql[] =
		"SELECT jsonb_build_object('type', 'FeatureCollection', 'features', "
		"       coalesce(jsonb_agg(" OFFICE_ZONE_FEATURE " ORDER BY z.code), '[]'))::text "
		"FROM zone z JOIN district d ON d.id = z.district_id WHERE ($1::text IS NULL OR d.code = $1)";
	char code[20];
	int has = http_query(r, "district", code, sizeof code);
	if (has < 0 || (has && (strlen(code) < 2 || strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != strlen(code)))) {
		http_error_field(r, "district", "must be a district code, e.g. RPR");
		return;
	}
	const char *p[] = { has ? code : NULL };
	http_reply_query(r, sql, 1, p);
}

void office_zone_put(struct http_req *r)
{
	/* Parsed and checked by PostGIS without touching the zone first; then stored. */
	static const char q_check[] =
		"SELECT ST_IsValid(g), ST_IsValidReason(g), GeometryType(g) FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) g) x";
	static const char q_update[] =
		"UPDATE zone SET area = ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326)) WHERE id = $2";
	static const char q_reply[] =
		"SELECT " OFFICE_ZONE_FEATURE "::text FROM zone z JOIN district d ON d.id = z.district_id WHERE z.id = $1";
	static const char *const feature[] = { "type", "id", "geometry", "properties", NULL };
	enum db_status st;
	char *geometry = NULL;
	PGresult *zone = NULL, *res = NULL;
	struct jv v = { 0 };

	const char *type = jv_string(&v, r->json, "", "type", 1, 1, 40);
	json_t *g = r->json;
	if (!v.failed && strcmp(type, "Feature") == 0) {
		jv_only(&v, r->json, "", feature);
		g = jv_object(&v, r->json, "", "geometry", 1);
		type = jv_string(&v, g, "geometry", "type", 1, 1, 40);
	}
	if (!v.failed && strcmp(type, "Polygon") != 0 && strcmp(type, "MultiPolygon") != 0)
		jv_fail(&v, "", "type", "must be a GeoJSON Polygon or MultiPolygon, or a Feature with one");
	if (v.failed) {
		jv_reply(r, &v);
		goto out;
	}
	geometry = json_dumps(g, JSON_COMPACT);
	zone = office_zone_find(r, r->params[0], &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	if (PQntuples(zone) != 1) {
		http_error(r, 404, "not_found", "no zone with this code in your district");
		goto out;
	}
	const char *cp[] = { geometry };
	res = db_exec(q_check, 1, cp, &st);
	if (st != DB_OK || db_get(res, 0, 0)[0] != 't') {
		if (st != DB_OK && st != DB_FAILED && st != DB_BAD_INPUT)
			http_error_db(r, st);
		else
			http_error(r, 422, "invalid_geometry", "the polygon is not valid: %s",
				   st == DB_OK ? db_get(res, 0, 1) : "not readable GeoJSON");
		goto out;
	}
	const char *up[] = { geometry, db_get(zone, 0, 0) };
	if ((st = db_begin()) != DB_OK || (st = db_run(q_update, 2, up)) != DB_OK ||
	    (st = office_audit(r, db_get(zone, 0, 1), "zone.area", "zone", r->params[0], NULL)) != DB_OK ||
	    (st = db_commit()) != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	const char *rp[] = { db_get(zone, 0, 0) };
	http_reply_query(r, q_reply, 1, rp);
out:
	free(geometry);
	PQclear(zone);
	PQclear(res);
}

