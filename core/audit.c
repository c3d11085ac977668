#include "audit.h"

#include "clock.h"

enum db_status audit_request(struct http_req *r, const char *district, const char *action, const char *type,
                             const char *ref, const char *detail)
{
	static const char sql[] = "SELECT audit_write($1, $2, $3, $4, $5, $6, $7, $8::jsonb)";
	struct db_args a = {0};
	char now[40];

	clock_now_text(now, sizeof now);
	db_arg_text(&a, district);
	db_arg_text(&a, now);
	db_arg_text(&a, auth_role_name(r->auth.role));
	db_arg_ll(&a, r->auth.id);
	db_arg_text(&a, action);
	db_arg_text(&a, type);
	db_arg_text(&a, ref);
	db_arg_text(&a, detail);
	return db_run(sql, a.n, a.v);
}
