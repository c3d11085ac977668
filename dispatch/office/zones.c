#include "office/office.h"

#include <stdlib.h>
#include <string.h>

#include "audit.h"

/* ---- zones ---- */

/* One zone as a GeoJSON feature, from zone z joined with its district d. */
#define OFFICE_ZONE_FEATURE                                                                                            \
	"jsonb_build_object('type', 'Feature', 'id', z.code, 'geometry', ST_AsGeoJSON(z.area, 7)::jsonb, "             \
	"  'properties', jsonb_build_object('code', z.code, 'name_en', z.name_en, 'name_hi', z.name_hi, "              \
	"                                   'district', d.code))"

void office_zones_list(struct http_req *r)
{
	static const char sql[] =
	    "SELECT jsonb_build_object('type', 'FeatureCollection', 'features', "
	    "       coalesce(jsonb_agg(" OFFICE_ZONE_FEATURE " ORDER BY z.code), '[]'))::text "
	    "FROM zone z JOIN district d ON d.id = z.district_id WHERE ($1::int = 0 OR z.district_id = $1::int)";
	struct db_args a = {0};
	db_arg_ll(&a, r->auth.district_id);
	http_reply_query(r, sql, a.n, a.v);
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
	if (has < 0 ||
	    (has && (strlen(code) < 2 || strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != strlen(code)))) {
		http_error_field(r, "district", "must be a district code, e.g. RPR");
		return;
	}
	const char *p[] = {has ? code : NULL};
	http_reply_query(r, sql, 1, p);
}

/* The geometry types a zone's area may have. */
static int office_area_type_ok(const char *type)
{
	return strcmp(type, "Polygon") == 0 || strcmp(type, "MultiPolygon") == 0;
}

void office_zone_put(struct http_req *r)
{
	/* Parsed and checked by PostGIS without touching the zone first; then stored. */
	static const char q_check[] = "SELECT ST_IsValid(g) AS valid, ST_IsValidReason(g) AS reason "
	                              "FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) g) x";
	static const char q_update[] =
	    "UPDATE zone SET area = ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326)) WHERE id = $2";
	static const char q_reply[] =
	    "SELECT " OFFICE_ZONE_FEATURE "::text FROM zone z JOIN district d ON d.id = z.district_id WHERE z.id = $1";
	static const char why[] = "must be a GeoJSON Polygon or MultiPolygon, or a Feature with one";
	/* The body is a Feature with its geometry, or the geometry itself: a geometry's members
	 * (coordinates, bbox, foreign members) are PostGIS's to read. */
	json_t *g = NULL;
	const struct jv_field feature[] = {
	    JV_STR("type", 1, 1, 40, NULL),
	    OFFICE_JV_BY_HAND("id"),
	    JV_OBJ("geometry", 1, NULL, &g),
	    OFFICE_JV_BY_HAND("properties"),
	    JV_END,
	};
	enum db_status st;
	char *geometry = NULL;
	PGresult *zone = NULL, *res = NULL;
	struct jv v = {0};

	const char *type = jv_string(&v, r->json, "", "type", 1, 1, 40);
	if (!v.failed && strcmp(type, "Feature") == 0) {
		jv_check(&v, r->json, "", feature);
		type = jv_string(&v, g, "geometry", "type", 1, 1, 40);
	} else {
		g = r->json;
	}
	if (!v.failed && !office_area_type_ok(type))
		jv_fail(&v, "", "type", why);
	if (v.failed) {
		jv_reply(r, &v);
		goto out;
	}
	geometry = json_dumps(g, JSON_COMPACT);
	if (office_zone_find_or_reply(r, r->params[0], NULL, &zone) != 0)
		goto out;
	const char *cp[] = {geometry};
	res = db_exec(q_check, 1, cp, &st);
	if (st != DB_OK && st != DB_FAILED && st != DB_BAD_INPUT) {
		http_error_db(r, st);
		goto out;
	}
	if (st != DB_OK || !db_col_true(res, 0, "valid")) {
		http_error(r, 422, "invalid_geometry", "the polygon is not valid: %s",
		           st == DB_OK ? db_col(res, 0, "reason") : "not readable GeoJSON");
		goto out;
	}
	const char *up[] = {geometry, db_col(zone, 0, "id")};
	st = db_begin();
	if (st == DB_OK)
		st = db_run(q_update, 2, up);
	if (st == DB_OK)
		st = audit_request(r, db_col(zone, 0, "district_id"), "zone.area", "zone", r->params[0], NULL);
	if (st == DB_OK)
		st = db_commit();
	if (st != DB_OK) {
		http_error_db(r, st);
		goto out;
	}
	const char *rp[] = {db_col(zone, 0, "id")};
	http_reply_query(r, q_reply, 1, rp);
out:
	free(geometry);
	PQclear(zone);
	PQclear(res);
}
