/* agent: the field agent's API — the day's visits, status changes at the door (the visit
 * code at `arrived`), position pings. Visits are the agent's own: another agent's visit is
 * a 404, like one that does not exist. */
#ifndef MITAN_AGENT_H
#define MITAN_AGENT_H

#include "http.h"

void agent_visits(struct http_req *r);       /* GET /api/v1/agent/visits?date=YYYY-MM-DD */
void agent_visit_status(struct http_req *r); /* POST /api/v1/agent/visits/{reference}/status */
void agent_location(struct http_req *r);     /* POST /api/v1/agent/location */

#endif
