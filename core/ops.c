#include "ops.h"

#include "metrics.h"
#include "util.h"

void ops_healthz(struct http_req *r)
{
	http_reply_json_text(r, 200, "{\"status\":\"ok\"}");
}

void ops_readyz(struct http_req *r)
{
	if (db_ping() != 0)
		http_error(r, 503, "unavailable", "the database does not answer");
	else
		http_reply_json_text(r, 200, "{\"status\":\"ready\"}");
}

void ops_metrics(struct http_req *r)
{
	buf_t out;
	buf_init(&out, 1u << 20);
	if (metrics_render(&out) != 0)
		http_error(r, 500, "internal_error", "metrics too large");
	else
		http_reply(r, 200, "text/plain; version=0.0.4", out.data, out.len);
	buf_free(&out);
}
