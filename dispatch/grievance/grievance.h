/* grievance: a resident's grievance on a booking and its three-tier appeal:
 * grievance officer → appellate authority → final appellate authority, each tier with its
 * time limit. The state changes, their events, audit entries and SMS are SQL functions
 * (sql/005_grievance.sql); these handlers check the request's shape, call one of them in a
 * transaction and reply with the grievance as JSON. A resident reaches the grievances of
 * the bookings they booked or are the beneficiary of; officers, committee members and
 * admins those of their district (every district when they have none); anything else is
 * 404. The scheduler's reminders and escalations are grievance_scan() in SQL. */
#ifndef MITAN_GRIEVANCE_H
#define MITAN_GRIEVANCE_H

#include "http.h"

void grievance_create(struct http_req *r); /* POST /api/v1/grievances {booking, kind, description, links?} */
void grievance_list(struct http_req *r);   /* GET /api/v1/grievances[?status=&tier=&booking=] */
void grievance_get(struct http_req *r);    /* GET /api/v1/grievances/{reference} */
void grievance_link(struct http_req *r);   /* POST /api/v1/grievances/{reference}/links {grievance} */
void grievance_answer(struct http_req *r); /* POST /api/v1/grievances/{reference}/answer {decision, note} */
void grievance_appeal(struct http_req *r); /* POST /api/v1/grievances/{reference}/appeal {note?} */
void grievance_close(struct http_req *r);  /* POST /api/v1/grievances/{reference}/close {note?} */

#endif
