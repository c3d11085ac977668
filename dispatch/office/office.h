/* office: the nodal officer's API under /api/v1/admin — agents, shifts, zones, an agent's
 * unavailability and the reassignment of their visits, visits flagged for attention, and
 * the day's plans. Every call is scoped to the caller's district (an admin without one
 * sees all); objects of another district are 404. */
#ifndef MITAN_OFFICE_H
#define MITAN_OFFICE_H

#include "http.h"

void office_agents_list(struct http_req *r);       /* GET /api/v1/admin/agents[?zone=] */
void office_agent_create(struct http_req *r);      /* POST /api/v1/admin/agents */
void office_agent_update(struct http_req *r);      /* PATCH /api/v1/admin/agents/{code} */
void office_shift_put(struct http_req *r);         /* PUT /api/v1/admin/agents/{code}/shifts/{date} */
void office_agent_unavailable(struct http_req *r); /* POST /api/v1/admin/agents/{code}/unavailable */
void office_zones_list(struct http_req *r);        /* GET /api/v1/admin/zones: GeoJSON FeatureCollection */
void office_zones_public(struct http_req *r);      /* GET /api/v1/zones: outlines for anyone */
void office_zone_put(struct http_req *r);          /* PUT /api/v1/admin/zones/{code}: a GeoJSON polygon */
void office_unplaced(struct http_req *r);          /* GET /api/v1/admin/unplaced[?date=] */
void office_reassign(struct http_req *r);          /* POST /api/v1/admin/bookings/{reference}/reassign */
void office_plan_run(struct http_req *r);          /* POST /api/v1/admin/plans {date, zone?} */
void office_plan_get(struct http_req *r);          /* GET /api/v1/admin/plans?date=&zone= */

/* Shared by the office's files. */
/* Begins the transaction and locks the agent with code r->params[0] in the caller's
 * district into *agent (columns id, district_id, zone: its zone's code). 0 on success; -1
 * when it replied (database error, or 404). The caller PQclear()s *agent on both paths. */
int office_agent_lock_or_reply(struct http_req *r, PGresult **agent);
/* The zone with this code in the caller's district into *zone (columns id, district_id); 0 on success, -1 when it
 * replied: a database error, or no such zone — 404 when the zone is the request's object (field NULL), else 400 on the
 * body member `field` that named it. The caller PQclear()s *zone on both paths. */
int office_zone_find_or_reply(struct http_req *r, const char *code, const char *field, PGresult **zone);

/* A row of a jv_field table for a member the table lets through unchecked (a list, a
 * boolean: kinds jv_field does not have); the handler checks it after the table. */
#define OFFICE_JV_BY_HAND(k)                                                                                           \
	{                                                                                                              \
		.key = (k)                                                                                             \
	}

#endif
