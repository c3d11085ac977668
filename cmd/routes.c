/* The one route table of the HTTP API. */
#include "routes.h"

#include "account.h"
#include "booking.h"
#include "catalogue.h"
#include "ops.h"
#include "slots.h"

#define KB 1024
#define JSON HTTP_JSON

const struct http_route routes[] = {
	/* method, pattern, handler, roles, max_body, flags */
	{ "GET", "/healthz", ops_healthz, 0, 0, 0 },
	{ "GET", "/readyz", ops_readyz, 0, 0, 0 },
	{ "GET", "/metrics", ops_metrics, 0, 0, 0 },
	{ "GET", "/t/{token}", booking_track, 0, 0, 0 },

	{ "GET", "/api/v1/services", catalogue_list, 0, 0, 0 },
	{ "GET", "/api/v1/services/{code}", catalogue_get, 0, 0, 0 },
	{ "GET", "/api/v1/slots", slots_list, 0, 0, 0 },

	{ "POST", "/api/v1/auth/otp", account_otp_request, 0, 1 * KB, JSON },
	{ "POST", "/api/v1/auth/otp/verify", account_otp_verify, 0, 1 * KB, JSON },
	{ "POST", "/api/v1/auth/login", account_login, 0, 1 * KB, JSON },

	{ "POST", "/api/v1/bookings", booking_create, ROLE_RESIDENT | ROLE_OPERATOR, 8 * KB, JSON },
	{ "GET", "/api/v1/bookings", booking_list, ROLE_RESIDENT | ROLE_STAFF, 0, 0 },
	{ "GET", "/api/v1/bookings/{reference}", booking_get, ROLE_RESIDENT | ROLE_STAFF, 0, 0 },
	{ "GET", "/api/v1/bookings/{reference}/receipt.svg", booking_receipt, ROLE_RESIDENT | ROLE_STAFF, 0, 0 },
	{ "POST", "/api/v1/bookings/{reference}/cancel", booking_cancel, ROLE_RESIDENT | ROLE_OPERATOR | ROLE_OFFICER | ROLE_ADMIN,
	  1 * KB, HTTP_JSON_OPTIONAL },
	{ "POST", "/api/v1/bookings/{reference}/reschedule", booking_reschedule,
	  ROLE_RESIDENT | ROLE_OPERATOR | ROLE_OFFICER | ROLE_ADMIN, 1 * KB, JSON },

	{ "GET", "/api/v1/dev/sms", account_dev_sms, 0, 0, 0 },
	{ "POST", "/api/v1/dev/clock", account_dev_clock, 0, 1 * KB, JSON },
};

const size_t routes_count = sizeof routes / sizeof routes[0];

/* URL prefixes handled by the table; everything else is a static file under web/. */
const char *const routes_prefixes[] = { "/api/", "/t/", "/healthz$", "/readyz$", "/metrics$", NULL };
