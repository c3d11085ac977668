#include "office/office.h"

#include <stdio.h>

#include "clock.h"

/* The caller's id and district as text parameters. */
void office_ids(const struct http_req *r, char actor[24], char district[24])
{
	snprintf(actor, 24, "%lld", r->auth.id);
	snprintf(district, 24, "%lld", r->auth.district_id);
}


enum db_status office_audit(struct http_req *r, const char *district, const char *action, const char *type,
				  const char *ref, const char *detail)
{
	static const char sql[] =
		"INSERT INTO audit_log (district_id, at, actor_role, actor_id, action, object_type, object_ref, detail) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8::jsonb, '{}'))";
	char now[40], actor[24];
	clock_now_text(now, sizeof now);
	snprintf(actor, sizeof actor, "%lld", r->auth.id);
	const char *p[] = { district, now, auth_role_name(r->auth.role), actor, action, type, ref, detail };
	return db_run(sql, 8, p);
}


/* The agent with this code in the caller's district: id, district_id, zone code. */
PGresult *office_agent_find(struct http_req *r, int lock, enum db_status *st)
{
#define OFFICE_AGENT_FIND                                                                                      \
	"SELECT a.id, a.district_id, z.code FROM agent a JOIN zone z ON z.id = a.zone_id "                      \
	"WHERE a.code = $1 AND ($2::int = 0 OR a.district_id = $2::int)"
	static const char q_read[] = OFFICE_AGENT_FIND;
	static const char q_lock[] = OFFICE_AGENT_FIND " FOR UPDATE OF a";
#undef OFFICE_AGENT_FIND
	char actor[24], district[24];
	office_ids(r, actor, district);
	const char *p[] = { r->params[0], district };
	return db_exec(lock ? q_lock : q_read, 2, p, st);
}

/* The zone with this code in the caller's district: id, district_id. */
PGresult *office_zone_find(struct http_req *r, const char *code, enum db_status *st)
{
	static const char sql[] = "SELECT id, district_id FROM zone WHERE code = $1 AND ($2::int = 0 OR district_id = $2::int)";
	char actor[24], district[24];
	office_ids(r, actor, district);
	const char *p[] = { code, district };
	return db_exec(sql, 2, p, st);
}
