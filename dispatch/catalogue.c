#include "catalogue.h"

void catalogue_list(struct http_req *r)
{
	static const char sql[] = "SELECT coalesce(jsonb_agg(service_json(s, $1) ORDER BY s.position, s.code), '[]')::text "
				  "FROM service s WHERE s.active";
	const char *params[] = { http_lang(r) };
	http_reply_query(r, sql, 1, params);
}

void catalogue_get(struct http_req *r)
{
	static const char sql[] = "SELECT service_json(s, $2)::text FROM service s WHERE s.code = $1 AND s.active";
	enum db_status st;
	const char *params[] = { r->params[0], http_lang(r) };
	PGresult *res = db_exec(sql, 2, params, &st);
	if (st != DB_OK)
		http_error_db(r, st);
	else if (PQntuples(res) == 0)
		http_error(r, 404, "not_found", "no such service");
	else
		http_reply_json_text(r, 200, db_get(res, 0, 0));
	PQclear(res);
}
