/* The one route table of the HTTP API. */
#include "cmd/routes.h"

#include "account/account.h"
#include "office/office.h"
#include "agent-api/agent.h"
#include "booking/booking.h"
#include "booking/catalogue.h"
#include "grievance/grievance.h"
#include "scheduler/sla_api.h"
#include "scheduler/sms_api.h"
#include "ops.h"
#include "report/report.h"
#include "booking/slots.h"
#include "agent-api/document.h"
#include "agent-api/upload.h"

#define KB   1024
#define JSON HTTP_JSON

const struct http_route routes[] = {
    /* method, pattern, handler, roles, max_body, flags */
    {"GET", "/healthz", ops_healthz, 0, 0, 0},
    {"GET", "/readyz", ops_readyz, 0, 0, 0},
    {"GET", "/metrics", ops_metrics, 0, 0, 0},
    {"GET", "/t/{token}", booking_track, 0, 0, 0},

    {"GET", "/api/v1/services", catalogue_list, 0, 0, 0},
    {"GET", "/api/v1/services/{code}", catalogue_get, 0, 0, 0},
    {"GET", "/api/v1/slots", slots_list, 0, 0, 0},
    {"GET", "/api/v1/zones", office_zones_public, 0, 0, 0},

    {"POST", "/api/v1/auth/otp", account_otp_request, 0, 1 * KB, JSON},
    {"POST", "/api/v1/auth/otp/verify", account_otp_verify, 0, 1 * KB, JSON},
    {"POST", "/api/v1/auth/login", account_login, 0, 1 * KB, JSON},
    {"POST", "/api/v1/auth/logout", account_logout, ROLE_ANYONE_SIGNED_IN, 0, 0},

    {"POST", "/api/v1/bookings", booking_create, ROLE_RESIDENT | ROLE_OPERATOR, 8 * KB, JSON},
    {"GET", "/api/v1/bookings", booking_list, ROLE_RESIDENT | ROLE_STAFF, 0, 0},
    {"GET", "/api/v1/bookings/{reference}", booking_get, ROLE_RESIDENT | ROLE_STAFF, 0, 0},
    {"GET", "/api/v1/bookings/{reference}/receipt.svg", booking_receipt, ROLE_RESIDENT | ROLE_STAFF, 0, 0},
    {"POST", "/api/v1/bookings/{reference}/cancel", booking_cancel,
     ROLE_RESIDENT | ROLE_OPERATOR | ROLE_OFFICER | ROLE_ADMIN, 1 * KB, HTTP_JSON_OPTIONAL},
    {"POST", "/api/v1/bookings/{reference}/reschedule", booking_reschedule,
     ROLE_RESIDENT | ROLE_OPERATOR | ROLE_OFFICER | ROLE_ADMIN, 1 * KB, JSON},

    /* field agents: visits, status at the door, position, tus uploads */
    {"GET", "/api/v1/agent/visits", agent_visits, ROLE_AGENT, 0, 0},
    {"POST", "/api/v1/agent/visits/{reference}/status", agent_visit_status, ROLE_AGENT, 2 * KB, JSON},
    {"POST", "/api/v1/agent/location", agent_location, ROLE_AGENT, 1 * KB, JSON},
    {"OPTIONS", "/api/v1/agent/uploads", upload_options, 0, 0, 0},
    {"POST", "/api/v1/agent/uploads", upload_create, ROLE_AGENT, 0, 0},
    {"GET", "/api/v1/agent/uploads/{id}", upload_head, ROLE_AGENT, 0, 0},
    {"PATCH", "/api/v1/agent/uploads/{id}", upload_patch, ROLE_AGENT, 0, HTTP_STREAM},
    {"DELETE", "/api/v1/agent/uploads/{id}", upload_delete, ROLE_AGENT, 0, 0},
    /* documents: officers get a short-lived signed link; the link itself is the credential */
    {"GET", "/api/v1/bookings/{reference}/documents/{code}/link", document_link, ROLE_OFFICER | ROLE_ADMIN, 0, 0},
    {"GET", "/api/v1/documents/{id}", document_view, 0, 0, 0},

    /* scheduler and SMS */
    {"POST", "/api/v1/bookings/{reference}/remind", sla_remind, ROLE_RESIDENT, 1 * KB, HTTP_JSON_OPTIONAL},
    {"POST", "/api/v1/sms/dlr", sms_dlr, 0, 4 * KB, 0}, /* HMAC-signed raw body, checked before parsing */
    {"GET", "/api/v1/admin/sms/dead-letters", sms_dead_letters, ROLE_OFFICER | ROLE_ADMIN, 0, 0},
    {"POST", "/api/v1/admin/sms/dead-letters/{id}/retry", sms_dead_letter_retry, ROLE_OFFICER | ROLE_ADMIN, 0, 0},
    {"GET", "/api/v1/admin/sla", sla_list, ROLE_OFFICER | ROLE_ADMIN, 0, 0},

    /* grievances and appeals */
    {"POST", "/api/v1/grievances", grievance_create, ROLE_RESIDENT, 16 * KB, JSON},
    {"GET", "/api/v1/grievances", grievance_list, ROLE_RESIDENT | ROLE_OFFICER | ROLE_COMMITTEE | ROLE_ADMIN, 0, 0},
    {"GET", "/api/v1/grievances/{reference}", grievance_get, ROLE_RESIDENT | ROLE_OFFICER | ROLE_COMMITTEE | ROLE_ADMIN,
     0, 0},
    {"POST", "/api/v1/grievances/{reference}/links", grievance_link, ROLE_RESIDENT, 1 * KB, JSON},
    {"POST", "/api/v1/grievances/{reference}/answer", grievance_answer, ROLE_OFFICER | ROLE_COMMITTEE | ROLE_ADMIN,
     16 * KB, JSON},
    {"POST", "/api/v1/grievances/{reference}/appeal", grievance_appeal, ROLE_RESIDENT, 16 * KB, HTTP_JSON_OPTIONAL},
    {"POST", "/api/v1/grievances/{reference}/close", grievance_close, ROLE_RESIDENT, 16 * KB, HTTP_JSON_OPTIONAL},

    /* nodal officers: agents, shifts, zones, unavailability, plans */
    {"GET", "/api/v1/admin/agents", office_agents_list, ROLE_OFFICER | ROLE_ADMIN, 0, 0},
    {"POST", "/api/v1/admin/agents", office_agent_create, ROLE_OFFICER | ROLE_ADMIN, 4 * KB, JSON},
    {"PATCH", "/api/v1/admin/agents/{code}", office_agent_update, ROLE_OFFICER | ROLE_ADMIN, 4 * KB, JSON},
    {"PUT", "/api/v1/admin/agents/{code}/shifts/{date}", office_shift_put, ROLE_OFFICER | ROLE_ADMIN, 1 * KB, JSON},
    {"POST", "/api/v1/admin/agents/{code}/unavailable", office_agent_unavailable, ROLE_OFFICER | ROLE_ADMIN, 1 * KB,
     JSON},
    {"GET", "/api/v1/admin/zones", office_zones_list, ROLE_OFFICER | ROLE_ADMIN, 0, 0},
    {"PUT", "/api/v1/admin/zones/{code}", office_zone_put, ROLE_OFFICER | ROLE_ADMIN, 256 * KB, JSON},
    {"GET", "/api/v1/admin/unplaced", office_unplaced, ROLE_OFFICER | ROLE_ADMIN, 0, 0},
    {"POST", "/api/v1/admin/bookings/{reference}/reassign", office_reassign, ROLE_OFFICER | ROLE_ADMIN, 1 * KB,
     HTTP_JSON_OPTIONAL},
    {"POST", "/api/v1/admin/bookings/{reference}/status", booking_office_step, ROLE_OFFICER | ROLE_ADMIN, 1 * KB, JSON},
    {"POST", "/api/v1/admin/plans", office_plan_run, ROLE_OFFICER | ROLE_ADMIN, 1 * KB, JSON},
    {"GET", "/api/v1/admin/plans", office_plan_get, ROLE_OFFICER | ROLE_ADMIN, 0, 0},

    /* fortnightly report: the district committee's figures as JSON, CSV and PDF */
    {"GET", "/api/v1/reports/fortnightly", report_fortnightly, ROLE_COMMITTEE | ROLE_OFFICER | ROLE_ADMIN, 0, 0},
    {"GET", "/api/v1/reports/fortnightly.csv", report_fortnightly_csv, ROLE_COMMITTEE | ROLE_OFFICER | ROLE_ADMIN, 0,
     0},
    {"GET", "/api/v1/reports/fortnightly.pdf", report_fortnightly_pdf, ROLE_COMMITTEE | ROLE_OFFICER | ROLE_ADMIN, 0,
     0},
    {"GET", "/api/v1/reports/fortnightly/sealed", report_fortnightly_sealed, ROLE_COMMITTEE | ROLE_OFFICER | ROLE_ADMIN,
     0, 0},

    /* development only: the log driver's messages and the test clock; 404 in prod */
    {"GET", "/api/v1/dev/sms", account_dev_sms, 0, 0, HTTP_DEV_ONLY},
    {"POST", "/api/v1/dev/clock", account_dev_clock, 0, 1 * KB, JSON | HTTP_DEV_ONLY},
};

const size_t routes_count = sizeof routes / sizeof routes[0];

/* URL prefixes handled by the table; everything else is a static file under web/. */
const char *const routes_prefixes[] = {"/api/", "/t/", "/healthz$", "/readyz$", "/metrics$", NULL};
