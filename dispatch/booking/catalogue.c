#include "booking/catalogue.h"

#include <string.h>

/* The whole catalogue with every document (~120 KB), or with brief=1 only what a list of
 * services shows (~10 KB): a phone on 2G loads a service's documents when it is chosen. */
void catalogue_list(struct http_req *r)
{
	static const char q_full[] =
	    "SELECT coalesce(jsonb_agg(service_json(s, $1) ORDER BY s.position, s.code), '[]')::text "
	    "FROM service s WHERE s.active";
	static const char q_brief[] =
	    "SELECT coalesce(jsonb_agg(jsonb_build_object('code', s.code, 'department', s.department, "
	    "         'name', CASE WHEN $1 = 'hi' THEN s.name_hi ELSE s.name_en END, 'name_en', s.name_en, "
	    "         'name_hi', s.name_hi, 'fee_paise', s.fee_paise, 'sla_days', s.sla_days) "
	    "       ORDER BY s.position, s.code), '[]')::text FROM service s WHERE s.active";
	char brief[4];
	int has_brief = http_query(r, "brief", brief, sizeof brief);
	if (has_brief && (has_brief < 0 || (strcmp(brief, "1") != 0 && strcmp(brief, "0") != 0))) {
		http_error_field(r, "brief", "must be 1 (names and fees only) or 0");
		return;
	}
	const char *params[] = {http_lang(r)};
	http_reply_query(r, has_brief && brief[0] == '1' ? q_brief : q_full, 1, params);
}

void catalogue_get(struct http_req *r)
{
	static const char sql[] = "SELECT service_json(s, $2)::text FROM service s WHERE s.code = $1 AND s.active";
	enum db_status st;
	const char *params[] = {r->params[0], http_lang(r)};
	PGresult *res = db_exec(sql, 2, params, &st);
	if (st != DB_OK)
		http_error_db(r, st);
	else if (PQntuples(res) == 0)
		http_error(r, 404, "not_found", "no such service");
	else
		http_reply_json_text(r, 200, db_get(res, 0, 0));
	PQclear(res);
}
