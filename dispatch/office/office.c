#include "office/office.h"

#include <stdio.h>

#include "db.h"

static PGresult *office_agent_find(struct http_req *r, int lock, enum db_status *st)
{
#define OFFICE_AGENT_FIND                                                                                              \
	"SELECT a.id, a.district_id, z.code AS zone FROM agent a JOIN zone z ON z.id = a.zone_id "                     \
	"WHERE a.code = $1 AND ($2::int = 0 OR a.district_id = $2::int)"
	static const char q_read[] = OFFICE_AGENT_FIND;
	static const char q_lock[] = OFFICE_AGENT_FIND " FOR UPDATE OF a";
#undef OFFICE_AGENT_FIND
	struct db_args a = {0};
	db_arg_text(&a, r->params[0]);
	db_arg_ll(&a, r->auth.district_id);
	return db_exec(lock ? q_lock : q_read, a.n, a.v, st);
}

int office_agent_lock_or_reply(struct http_req *r, PGresult **agent)
{
	enum db_status st = db_begin();
	*agent = NULL;
	if (st == DB_OK)
		*agent = office_agent_find(r, 1, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		return -1;
	}
	if (PQntuples(*agent) != 1) {
		http_error(r, 404, "not_found", "no agent with this code in your district");
		return -1;
	}
	return 0;
}

static PGresult *office_zone_find(struct http_req *r, const char *code, enum db_status *st)
{
	static const char sql[] =
	    "SELECT id, district_id FROM zone WHERE code = $1 AND ($2::int = 0 OR district_id = $2::int)";
	struct db_args a = {0};
	db_arg_text(&a, code);
	db_arg_ll(&a, r->auth.district_id);
	return db_exec(sql, a.n, a.v, st);
}

int office_zone_find_or_reply(struct http_req *r, const char *code, const char *field, PGresult **zone)
{
	enum db_status st;
	*zone = office_zone_find(r, code, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		return -1;
	}
	if (PQntuples(*zone) != 1) {
		if (field)
			http_error_field(r, field, "no such zone in your district");
		else
			http_error(r, 404, "not_found", "no zone with this code in your district");
		return -1;
	}
	return 0;
}
