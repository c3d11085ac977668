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
/* The caller's id and district ("0": every district) as text parameters. */
void office_ids(const struct http_req *r, char actor[24], char district[24]);
/* An audit entry for an office action on `type` `ref`, attributed to the caller. */
enum db_status office_audit(struct http_req *r, const char *district, const char *action, const char *type,
			    const char *ref, const char *detail);
/* The agent with code r->params[0] in the caller's district: id, district_id, zone code
 * (FOR UPDATE when lock). */
PGresult *office_agent_find(struct http_req *r, int lock, enum db_status *st);
/* The zone with this code in the caller's district: id, district_id. */
PGresult *office_zone_find(struct http_req *r, const char *code, enum db_status *st);

#endif
