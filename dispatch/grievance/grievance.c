#include "grievance/grievance.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"
#include "idem.h"
#include "metrics.h"
#include "util.h"

#define GRIEVANCE_TEXT_MAX        1000 /* description, answer and notes, in characters */
#define GRIEVANCE_LINKS_MAX       20   /* references in a new grievance's "links" */
#define GRIEVANCE_PER_BOOKING_MAX 10   /* grievance_raise's cap (sql/005_grievance.sql), said in its refusal */
#define GRIEVANCE_LIST_MAX        200  /* grievances in one list, newest first */
#define GRIEVANCE_TRIES           3    /* a deadlock or a reference collision is tried again this often */
#define GRIEVANCE_REF_PREFIX      "GV" /* in place of crypto_reference's "MT" */
#define GRIEVANCE_REF_EXAMPLE     GRIEVANCE_REF_PREFIX "-7K2M-Q9XD-4TPA"

#define GRIEVANCE_STR(x)  #x
#define GRIEVANCE_XSTR(x) GRIEVANCE_STR(x)

/* What an outcome of the SQL functions means to the client; "ok" is not here. */
struct grievance_outcome {
	const char *outcome;
	int status;
	const char *code; /* NULL: a 400 naming `field` */
	const char *field;
	const char *message;
};

static const struct grievance_outcome grievance_outcomes[] = {
    {"booking_not_found", 404, "not_found", NULL, "no booking with this reference is yours"},
    {"not_found", 404, "not_found", NULL, "no grievance with this reference is yours to see"},
    {"links", 400, NULL, "links", "each must be the reference of one of your own grievances"},
    {"link_unknown", 400, NULL, "grievance", "must be the reference of one of your own grievances"},
    {"link_self", 400, NULL, "grievance", "must be another grievance than this one"},
    {"too_many", 409, "too_many_grievances", NULL,
     "this booking has " GRIEVANCE_XSTR(
         GRIEVANCE_PER_BOOKING_MAX) " grievances already; link to one of them or call the helpline"},
    {"forbidden", 403, "forbidden", NULL,
     "only the authority of this grievance's tier, or an administrator, may answer it"},
    {"not_open", 409, "wrong_state", NULL, "only an open grievance can be answered; this one is answered or closed"},
    {"closed", 409, "wrong_state", NULL, "this grievance is closed"},
    {"not_due", 409, "wrong_state", NULL,
     "the authority has until the due time to answer; appeal after the answer, or once it is overdue"},
    {"no_further_appeal", 409, "no_further_appeal", NULL,
     "the final appellate authority is the last tier; there is no further appeal"},
};

static const char *const grievance_kinds[] = {"missed_visit", "delay", "rejection", "conduct", "other", NULL};
static const char *const grievance_decisions[] = {"upheld", "rejected", NULL};
static const char *const grievance_statuses[] = {"open", "answered", "closed", NULL};
static const char grievance_ref_why[] = "must be a grievance reference, e.g. " GRIEVANCE_REF_EXAMPLE;

/* A change of a grievance: `sql` calls one of sql/005's functions, which returns
 * (outcome, grievance_id) and takes the application clock's now among its parameters. */
struct grievance_change {
	const char *sql;
	int ok_status;      /* of the reply with the grievance */
	const char *metric; /* counts the changes made; NULL = none */
};

/* ---- shared pieces ---- */

static int grievance_in(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* "GV-XXXX-XXXX-XXXX" in Crockford base32, as crypto_reference makes them. */
static int grievance_ref_ok(const char *s)
{
	static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	static const size_t prefix = sizeof GRIEVANCE_REF_PREFIX - 1;
	static const size_t len = sizeof GRIEVANCE_REF_EXAMPLE - 1;
	if (strlen(s) != len || strncmp(s, GRIEVANCE_REF_PREFIX, prefix) != 0)
		return 0;
	for (size_t i = prefix; i < len; i++) {
		if ((i - prefix) % 5 == 0) {
			if (s[i] != '-')
				return 0;
		} else if (!strchr(crockford, s[i])) {
			return 0;
		}
	}
	return 1;
}

/* Replies what a refused outcome means: 0 for "ok" (nothing sent), -1 once it replied. */
static int grievance_outcome_or_reply(struct http_req *r, const char *outcome)
{
	if (outcome && strcmp(outcome, "ok") == 0)
		return 0;
	for (size_t i = 0; outcome && i < sizeof grievance_outcomes / sizeof grievance_outcomes[0]; i++) {
		const struct grievance_outcome *o = &grievance_outcomes[i];
		if (strcmp(o->outcome, outcome) != 0)
			continue;
		if (o->code)
			http_error(r, o->status, o->code, "%s", o->message);
		else
			http_error_field(r, o->field, o->message);
		return -1;
	}
	http_error(r, 500, "internal_error", "unexpected outcome");
	return -1;
}

/* One try of a change, in one transaction (with the Idempotency-Key when `idem` is given):
 * the change, then the reply with the grievance as of `now`, or the refusal. Returns DB_OK
 * once a reply was sent, else the status to try again on (DB_RETRY, or DB_UNIQUE for a
 * reference already taken), having sent nothing. */
static enum db_status grievance_try(struct http_req *r, const struct grievance_change *c, const struct db_args *a,
                                    const char *now, struct idem *idem)
{
	static const char q_reply[] = "SELECT grievance_json($1::bigint, $2, $3)::text AS grievance";
	struct db_args ra = {0};
	enum db_status st;
	PGresult *res = NULL;

	st = db_begin();
	if (st != DB_OK)
		goto fail;
	if (idem && idem_begin(r, idem) != 0)
		goto out; /* replayed or refused */
	res = db_exec(c->sql, a->n, a->v, &st);
	if (st != DB_OK)
		goto fail;
	if (PQntuples(res) != 1) {
		http_error(r, 500, "internal_error", "unexpected reply of the database");
		goto out;
	}
	if (grievance_outcome_or_reply(r, db_col(res, 0, "outcome")) != 0)
		goto out;
	db_arg_ll(&ra, db_col_ll(res, 0, "grievance_id"));
	db_arg_text(&ra, http_lang(r));
	db_arg_text(&ra, now);
	PQclear(res);
	res = db_exec(q_reply, ra.n, ra.v, &st);
	if (st != DB_OK)
		goto fail;
	const char *body = db_col(res, 0, "grievance");
	if (idem) {
		st = idem_finish(idem, c->ok_status, body);
		if (st != DB_OK)
			goto fail;
	}
	st = db_commit();
	if (st != DB_OK)
		goto fail;
	if (c->metric)
		metrics_count(c->metric, 1);
	http_reply_json_text(r, c->ok_status, body);
	goto out;
fail:
	db_rollback();
	if (st != DB_RETRY && st != DB_UNIQUE)
		http_error_db(r, st);
out:
	db_rollback(); /* after a refusal; a no-op after commit */
	PQclear(res);
	return r->status ? DB_OK : st;
}

/* A change, tried again after a deadlock or serialization failure, or a reference already
 * taken: `reference` (a parameter of `a`, NULL when the change makes none) is drawn anew for
 * each try. Always replies. */
static void grievance_change(struct http_req *r, const struct grievance_change *c, const struct db_args *a,
                             const char *now, struct idem *idem, char *reference)
{
	enum db_status st = DB_RETRY;
	for (int i = 0; i < GRIEVANCE_TRIES && !r->status; i++) {
		if (reference) {
			if (crypto_reference(reference) != 0) {
				http_error(r, 500, "internal_error", "no randomness available");
				return;
			}
			memcpy(reference, GRIEVANCE_REF_PREFIX, sizeof GRIEVANCE_REF_PREFIX - 1);
		}
		st = grievance_try(r, c, a, now, idem);
	}
	/* Three references taken in a row is the server's trouble; a unique key hit otherwise,
	 * a rule of the data. */
	if (!r->status)
		http_error_db(r, st == DB_UNIQUE ? (reference ? DB_RETRY : DB_CONSTRAINT) : st);
}

/* A resident's change of their own grievance, with one value of the body: `c->sql` takes
 * ($1 reference, $2 resident, $3 value, $4 now). */
static void grievance_resident_change(struct http_req *r, const struct grievance_change *c, const char *value)
{
	char now[40];
	struct db_args a = {0};

	clock_now_text(now, sizeof now);
	db_arg_text(&a, r->params[0]);
	db_arg_ll(&a, r->auth.id);
	db_arg_text(&a, value);
	db_arg_text(&a, now);
	grievance_change(r, c, &a, now, NULL, NULL);
}

/* The resident's changes whose body is only an optional note (appeal, close). */
static void grievance_note_change(struct http_req *r, const struct grievance_change *c)
{
	const char *note = NULL;
	const struct jv_field body[] = {JV_TXT("note", 0, GRIEVANCE_TEXT_MAX, &note), JV_END};

	if (jv_check_or_reply(r, body) == 0)
		grievance_resident_change(r, c, note);
}

/* ---- create ---- */

void grievance_create(struct http_req *r)
{
	/* The links go in as the body's JSON list, so no array literal is written here. */
	static const struct grievance_change c = {
	    "SELECT outcome, grievance_id FROM grievance_raise($1, $2, $3, $4, $5, "
	    "ARRAY(SELECT jsonb_array_elements_text(coalesce($6::jsonb, '[]'))), $7)",
	    201, "mitan_grievances_raised_total"};
	char now[40], reference[18];
	struct db_args a = {0};
	struct idem idem;
	const char *booking = NULL, *kind = NULL, *description = NULL;
	json_t *links = NULL;
	char *links_text = NULL;
	const struct jv_field body[] = {
	    JV_STR("booking", 1, 1, 40, &booking),
	    JV_ONE_OF("kind", 1, grievance_kinds, &kind),
	    JV_TXT("description", 1, GRIEVANCE_TEXT_MAX, &description),
	    JV_ARR_OK("links", 0, GRIEVANCE_LINKS_MAX, grievance_ref_ok, grievance_ref_why, &links),
	    JV_END,
	};

	if (jv_check_or_reply(r, body) != 0)
		goto out;
	links_text = links ? json_dumps(links, JSON_COMPACT) : NULL;
	clock_now_text(now, sizeof now);
	db_arg_text(&a, booking);
	db_arg_ll(&a, r->auth.id);
	db_arg_text(&a, reference);
	db_arg_text(&a, kind);
	db_arg_text(&a, description);
	db_arg_text(&a, links_text);
	db_arg_text(&a, now);
	grievance_change(r, &c, &a, now, &idem, reference);
out:
	free(links_text);
}

/* ---- read ---- */

void grievance_list(struct http_req *r)
{
	/* A resident's grievances (on bookings they booked or are the beneficiary of); staff see
	 * their district's. Newest first. */
	static const char sql[] =
	    "SELECT coalesce(jsonb_agg(grievance_json(g.id, $6, $7) ORDER BY g.created_at DESC, g.id DESC), "
	    "'[]')::text "
	    "FROM (SELECT g.id, g.created_at FROM grievance g JOIN booking b ON b.id = g.booking_id "
	    "       WHERE (($1 = 'resident' AND (b.booker_id = $2::bigint OR b.beneficiary_id = $2::bigint)) OR "
	    "              ($1 <> 'resident' AND ($3::int = 0 OR g.district_id = $3::int))) "
	    "         AND ($4::text IS NULL OR g.status = $4) AND ($5::int IS NULL OR g.tier = $5::int) "
	    "         AND ($8::text IS NULL OR b.reference = $8) "
	    "       ORDER BY g.created_at DESC, g.id DESC LIMIT $9::int) g";
	char status[16], tier[8], booking[48], now[40];
	struct db_args a = {0};
	long tier_no;
	int has_status = http_query(r, "status", status, sizeof status);
	int has_tier = http_query(r, "tier", tier, sizeof tier);
	int has_booking = http_query(r, "booking", booking, sizeof booking);

	if (has_status && (has_status < 0 || !grievance_in(status, grievance_statuses))) {
		http_error_field(r, "status", "must be open, answered or closed");
		return;
	}
	if (has_tier && (has_tier < 0 || parse_long(tier, 1, 3, &tier_no) != 0)) {
		http_error_field(r, "tier", "must be 1, 2 or 3");
		return;
	}
	if (has_booking < 0) {
		http_error_field(r, "booking", "must be a booking reference");
		return;
	}
	clock_now_text(now, sizeof now);
	db_arg_text(&a, auth_role_name(r->auth.role));
	db_arg_ll(&a, r->auth.id);
	db_arg_ll(&a, r->auth.district_id);
	db_arg_text(&a, has_status ? status : NULL);
	db_arg_text(&a, has_tier ? tier : NULL);
	db_arg_text(&a, http_lang(r));
	db_arg_text(&a, now);
	db_arg_text(&a, has_booking ? booking : NULL);
	db_arg_ll(&a, GRIEVANCE_LIST_MAX);
	http_reply_query(r, sql, a.n, a.v);
}

void grievance_get(struct http_req *r)
{
	static const char sql[] =
	    "SELECT grievance_json(grievance_find($1, $2, $3::bigint, $4::int), $5, $6)::text AS grievance";
	char now[40];
	struct db_args a = {0};
	enum db_status st;

	clock_now_text(now, sizeof now);
	db_arg_text(&a, r->params[0]);
	db_arg_text(&a, auth_role_name(r->auth.role));
	db_arg_ll(&a, r->auth.id);
	db_arg_ll(&a, r->auth.district_id);
	db_arg_text(&a, http_lang(r));
	db_arg_text(&a, now);
	PGresult *res = db_exec(sql, a.n, a.v, &st);
	const char *grievance = st == DB_OK ? db_col(res, 0, "grievance") : NULL;
	if (st != DB_OK)
		http_error_db(r, st);
	else if (!grievance)
		grievance_outcome_or_reply(r, "not_found");
	else
		http_reply_json_text(r, 200, grievance);
	PQclear(res);
}

/* ---- changes ---- */

void grievance_link(struct http_req *r)
{
	static const struct grievance_change c = {
	    "SELECT outcome, grievance_id FROM grievance_link_add($1, $2, $3, $4)", 200, NULL};
	const char *other = NULL;
	const struct jv_field body[] = {
	    JV_STR_OK("grievance", 1, 1, 40, grievance_ref_ok, grievance_ref_why, &other),
	    JV_END,
	};

	if (jv_check_or_reply(r, body) == 0)
		grievance_resident_change(r, &c, other);
}

void grievance_answer(struct http_req *r)
{
	static const struct grievance_change c = {
	    "SELECT outcome, grievance_id FROM grievance_answer($1, $2, $3::bigint, $4::int, $5, $6, $7)", 200,
	    "mitan_grievances_answered_total"};
	char now[40];
	struct db_args a = {0};
	const char *decision = NULL, *note = NULL;
	const struct jv_field body[] = {
	    JV_ONE_OF("decision", 1, grievance_decisions, &decision),
	    JV_TXT("note", 1, GRIEVANCE_TEXT_MAX, &note),
	    JV_END,
	};

	if (jv_check_or_reply(r, body) != 0)
		return;
	clock_now_text(now, sizeof now);
	db_arg_text(&a, r->params[0]);
	db_arg_text(&a, auth_role_name(r->auth.role));
	db_arg_ll(&a, r->auth.id);
	db_arg_ll(&a, r->auth.district_id);
	db_arg_text(&a, decision);
	db_arg_text(&a, note);
	db_arg_text(&a, now);
	grievance_change(r, &c, &a, now, NULL, NULL);
}

void grievance_appeal(struct http_req *r)
{
	static const struct grievance_change c = {"SELECT outcome, grievance_id FROM grievance_appeal($1, $2, $3, $4)",
	                                          200, "mitan_grievances_appealed_total"};
	grievance_note_change(r, &c);
}

void grievance_close(struct http_req *r)
{
	static const struct grievance_change c = {"SELECT outcome, grievance_id FROM grievance_close($1, $2, $3, $4)",
	                                          200, "mitan_grievances_closed_total"};
	grievance_note_change(r, &c);
}
