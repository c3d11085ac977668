/* admin: the nodal officer's API under /api/v1/admin — agents, shifts, zones, an agent's
 * unavailability and the reassignment of their visits, visits flagged for attention, and
 * the day's plans. Every call is scoped to the caller's district (an admin without one
 * sees all); objects of another district are 404. */
#ifndef MITAN_ADMIN_H
#define MITAN_ADMIN_H

#include "http.h"

void admin_agents_list(struct http_req *r);       /* GET /api/v1/admin/agents[?zone=] */
void admin_agent_create(struct http_req *r);      /* POST /api/v1/admin/agents */
void admin_agent_update(struct http_req *r);      /* PATCH /api/v1/admin/agents/{code} */
void admin_shift_put(struct http_req *r);         /* PUT /api/v1/admin/agents/{code}/shifts/{date} */
void admin_agent_unavailable(struct http_req *r); /* POST /api/v1/admin/agents/{code}/unavailable */
void admin_zones_list(struct http_req *r);        /* GET /api/v1/admin/zones: GeoJSON FeatureCollection */
void admin_zone_put(struct http_req *r);          /* PUT /api/v1/admin/zones/{code}: a GeoJSON polygon */
void admin_unplaced(struct http_req *r);          /* GET /api/v1/admin/unplaced[?date=] */
void admin_reassign(struct http_req *r);          /* POST /api/v1/admin/bookings/{reference}/reassign */
void admin_booking_status(struct http_req *r);    /* POST /api/v1/admin/bookings/{reference}/status */
void admin_plan_run(struct http_req *r);          /* POST /api/v1/admin/plans {date, zone?} */
void admin_plan_get(struct http_req *r);          /* GET /api/v1/admin/plans?date=&zone= */

#endif
