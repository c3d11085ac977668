#include "grievance/grievance.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"
#include "idem.h"
#include "metrics.h"
#include "util.h"

#define GRIEVANCE_TEXT_MAX 1000 /* description, answer and notes, in characters */
#define GRIEVANCE_LINKS_MAX 20
#define GRIEVANCE_TRIES 3       /* a deadlock or a reference collision is tried again this often */

/* What an outcome of the SQL functions means to the client; "ok" is not here. */
struct grievance_outcome {
	const char *outcome;
	int status;
	const char *code;  /* NULL: a 400 naming `field` */
	const char *field;
	const char *message;
};

static const struct grievance_outcome grievance_outcomes[] = {
	{ "booking_not_found", 404, "not_found", NULL, "no booking with this reference is yours" },
	{ "not_found", 404, "not_found", NULL, "no grievance with this reference is yours to see" },
	{ "links", 400, NULL, "links", "each must be the reference of one of your own grievances" },
	{ "link_unknown", 400, NULL, "grievance", "must be the reference of one of your own grievances" },
	{ "link_self", 400, NULL, "grievance", "must be another grievance than this one" },
	{ "too_many", 409, "too_many_grievances", NULL,
	  "this booking has 10 grievances already; link to one of them or call the helpline" },
	{ "forbidden", 403, "forbidden", NULL,
	  "only the authority of this grievance's tier, or an administrator, may answer it" },
	{ "not_open", 409, "wrong_state", NULL, "only an open grievance can be answered; this one is answered or closed" },
	{ "closed", 409, "wrong_state", NULL, "this grievance is closed" },
	{ "not_due", 409, "wrong_state", NULL,
	  "the authority has until the due time to answer; appeal after the answer, or once it is overdue" },
	{ "no_further_appeal", 409, "no_further_appeal", NULL,
	  "the final appellate authority is the last tier; there is no further appeal" },
};

static const char *const grievance_kinds[] = { "missed_visit", "delay", "rejection", "conduct", "other", NULL };

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
	if (strlen(s) != 17 || strncmp(s, "GV", 2) != 0)
		return 0;
	for (int i = 2; i < 17; i++) {
		if ((i - 2) % 5 == 0) {
			if (s[i] != '-')
				return 0;
		} else if (!strchr(crockford, s[i])) {
			return 0;
		}
	}
	return 1;
}

/* Free text of 1..max characters that is not only blanks; unlike jv_string it may hold line
 * breaks and tabs (a resident's account of what happened), no other control characters. */
static const char *grievance_text(struct jv *v, json_t *obj, const char *key, int required, size_t max)
{
	char msg[96];
	json_t *m;
	size_t chars = 0;
	int visible = 0;

	if (v->failed)
		return NULL;
	m = obj ? json_object_get(obj, key) : NULL;
	if (!m || json_is_null(m)) {
		if (required)
			jv_fail(v, "", key, "is required");
		return NULL;
	}
	if (!json_is_string(m)) {
		jv_fail(v, "", key, "must be a string");
		return NULL;
	}
	const unsigned char *s = (const unsigned char *)json_string_value(m);
	if (json_string_length(m) != strlen((const char *)s)) {
		jv_fail(v, "", key, "must not contain NUL");
		return NULL;
	}
	for (const unsigned char *p = s; *p; p++) {
		if ((*p < 0x20 && *p != '\n' && *p != '\r' && *p != '\t') || *p == 0x7f) {
			jv_fail(v, "", key, "must not contain control characters other than line breaks");
			return NULL;
		}
		if ((*p & 0xc0) != 0x80)
			chars++;
		if (*p > 0x20)
			visible = 1;
	}
	if (!visible || chars > max) {
		snprintf(msg, sizeof msg, "must be 1 to %zu characters long, not only blanks", max);
		jv_fail(v, "", key, msg);
		return NULL;
	}
	return (const char *)s;
}

/* The "links" member as a PostgreSQL array literal of grievance references into out. */
static void grievance_links(struct jv *v, json_t *obj, buf_t *out)
{
	size_t i;
	json_t *l, *m = v->failed ? NULL : json_object_get(obj, "links");
	buf_puts(out, "{");
	if (m && !json_is_null(m)) {
		if (!json_is_array(m) || json_array_size(m) > GRIEVANCE_LINKS_MAX) {
			jv_fail(v, "", "links", "must be a list of at most 20 grievance references");
			return;
		}
		json_array_foreach(m, i, l) {
			if (!json_is_string(l) || !grievance_ref_ok(json_string_value(l))) {
				jv_fail(v, "", "links", "each must be a grievance reference, e.g. GV-7K2M-Q9XD-4TPA");
				return;
			}
			buf_printf(out, "%s%s", i ? "," : "", json_string_value(l));
		}
	}
	buf_puts(out, "}");
}

/* Replies what a refused outcome means; returns 0 for "ok" (nothing sent). */
static int grievance_refused(struct http_req *r, const char *outcome)
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
		return 1;
	}
	http_error(r, 500, "internal_error", "unexpected outcome");
	return 1;
}

/* One state change: `sql` calls a function returning (outcome, grievance_id) with `now` among
 * its parameters. In one transaction (with the Idempotency-Key when `idem` is given): the
 * change, then the reply with the grievance as of `now` and status `ok_status`, or the
 * refusal; `metric` (when not NULL) counts the changes made. Returns DB_OK once a reply was
 * sent, else the status to try again on (DB_RETRY, or DB_UNIQUE for a reference already
 * taken), having sent nothing. */
static enum db_status grievance_act(struct http_req *r, struct idem *idem, const char *sql, int n,
				    const char *const *p, const char *now, int ok_status, const char *metric)
{
	static const char q_reply[] = "SELECT grievance_json($1, $2, $3)::text";
	char id[24];
	enum db_status st;
	PGresult *res = NULL;

	if ((st = db_begin()) != DB_OK)
		goto fail;
	if (idem && idem_begin(r, idem) != 0)
		goto out; /* replayed or refused */
	res = db_exec(sql, n, p, &st);
	if (st != DB_OK)
		goto fail;
	if (PQntuples(res) != 1) {
		http_error(r, 500, "internal_error", "unexpected reply of the database");
		goto out;
	}
	if (grievance_refused(r, db_get(res, 0, 0)))
		goto out;
	snprintf(id, sizeof id, "%s", db_get(res, 0, 1));
	PQclear(res);
	const char *rp[] = { id, http_lang(r), now };
	res = db_exec(q_reply, 3, rp, &st);
	if (st != DB_OK)
		goto fail;
	const char *body = db_get(res, 0, 0);
	if ((idem && (st = idem_finish(idem, ok_status, body)) != DB_OK) || (st = db_commit()) != DB_OK)
		goto fail;
	if (metric)
		metrics_count(metric, 1);
	http_reply_json_text(r, ok_status, body);
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

/* grievance_act, tried again after a deadlock or serialization failure. */
static void grievance_act_retrying(struct http_req *r, const char *sql, int n, const char *const *p,
				   const char *now, const char *metric)
{
	enum db_status st = DB_RETRY;
	for (int i = 0; i < GRIEVANCE_TRIES && !r->status; i++)
		st = grievance_act(r, NULL, sql, n, p, now, 200, metric);
	if (!r->status)
		http_error_db(r, st == DB_UNIQUE ? DB_CONSTRAINT : st);
}

/* A body of only an optional note (appeal, close); -1 after replying when it is refused. */
static int grievance_note_body(struct http_req *r, const char **note)
{
	static const char *const fields[] = { "note", NULL };
	struct jv v = { 0 };
	jv_only(&v, r->json, "", fields);
	*note = grievance_text(&v, r->json, "note", 0, GRIEVANCE_TEXT_MAX);
	if (v.failed) {
		jv_reply(r, &v);
		return -1;
	}
	return 0;
}

/* ---- create ---- */

void grievance_create(struct http_req *r)
{
	static const char *const fields[] = { "booking", "kind", "description", "links", NULL };
	static const char sql[] = "SELECT outcome, grievance_id FROM grievance_raise($1, $2, $3, $4, $5, $6, $7)";
	struct jv v = { 0 };
	struct idem idem;
	char now[40], person[24], reference[18];
	enum db_status st = DB_UNIQUE;
	buf_t links;

	buf_init(&links, 1024);
	jv_only(&v, r->json, "", fields);
	const char *booking = jv_string(&v, r->json, "", "booking", 1, 1, 40);
	const char *kind = jv_string(&v, r->json, "", "kind", 1, 1, 20);
	if (!v.failed && !grievance_in(kind, grievance_kinds))
		jv_fail(&v, "", "kind", "must be missed_visit, delay, rejection, conduct or other");
	const char *description = grievance_text(&v, r->json, "description", 1, GRIEVANCE_TEXT_MAX);
	grievance_links(&v, r->json, &links);
	if (v.failed) {
		jv_reply(r, &v);
		goto out;
	}
	clock_now_text(now, sizeof now);
	snprintf(person, sizeof person, "%lld", r->auth.id);
	for (int i = 0; i < GRIEVANCE_TRIES && (st == DB_UNIQUE || st == DB_RETRY) && !r->status; i++) {
		if (crypto_reference(reference) != 0) {
			http_error(r, 500, "internal_error", "no randomness available");
			goto out;
		}
		reference[0] = 'G';
		reference[1] = 'V';
		const char *p[] = { booking, person, reference, kind, description, links.data, now };
		st = grievance_act(r, &idem, sql, 7, p, now, 201, "mitan_grievances_raised_total");
	}
	if (!r->status)
		http_error_db(r, st == DB_UNIQUE ? DB_RETRY : st);
out:
	buf_free(&links);
}

/* ---- read ---- */

void grievance_list(struct http_req *r)
{
	/* A resident's grievances (on bookings they booked or are the beneficiary of); staff see
	 * their district's. Newest first, at most 200. */
	static const char sql[] =
		"SELECT coalesce(jsonb_agg(grievance_json(g.id, $6, $7) ORDER BY g.created_at DESC, g.id DESC), '[]')::text "
		"FROM (SELECT g.id, g.created_at FROM grievance g JOIN booking b ON b.id = g.booking_id "
		"       WHERE (($1 = 'resident' AND (b.booker_id = $2::bigint OR b.beneficiary_id = $2::bigint)) OR "
		"              ($1 <> 'resident' AND ($3::int = 0 OR g.district_id = $3::int))) "
		"         AND ($4::text IS NULL OR g.status = $4) AND ($5::int IS NULL OR g.tier = $5::int) "
		"         AND ($8::text IS NULL OR b.reference = $8) "
		"       ORDER BY g.created_at DESC, g.id DESC LIMIT 200) g";
	static const char *const statuses[] = { "open", "answered", "closed", NULL };
	char actor[24], district[24], status[16], tier[8], booking[48], now[40];
	long tier_no;
	int has_status = http_query(r, "status", status, sizeof status);
	int has_tier = http_query(r, "tier", tier, sizeof tier);
	int has_booking = http_query(r, "booking", booking, sizeof booking);

	if (has_status && (has_status < 0 || !grievance_in(status, statuses))) {
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
	snprintf(actor, sizeof actor, "%lld", r->auth.id);
	snprintf(district, sizeof district, "%lld", r->auth.district_id);
	clock_now_text(now, sizeof now);
	const char *p[] = { auth_role_name(r->auth.role), actor, district, has_status ? status : NULL,
			    has_tier ? tier : NULL, http_lang(r), now, has_booking ? booking : NULL };
	http_reply_query(r, sql, 8, p);
}

void grievance_get(struct http_req *r)
{
	static const char sql[] = "SELECT grievance_json(grievance_find($1, $2, $3::bigint, $4::int), $5, $6)::text";
	char actor[24], district[24], now[40];
	enum db_status st;

	snprintf(actor, sizeof actor, "%lld", r->auth.id);
	snprintf(district, sizeof district, "%lld", r->auth.district_id);
	clock_now_text(now, sizeof now);
	const char *p[] = { r->params[0], auth_role_name(r->auth.role), actor, district, http_lang(r), now };
	PGresult *res = db_exec(sql, 6, p, &st);
	if (st != DB_OK)
		http_error_db(r, st);
	else if (!db_get(res, 0, 0))
		http_error(r, 404, "not_found", "no grievance with this reference is yours to see");
	else
		http_reply_json_text(r, 200, db_get(res, 0, 0));
	PQclear(res);
}

/* ---- changes ---- */

void grievance_link(struct http_req *r)
{
	static const char *const fields[] = { "grievance", NULL };
	static const char sql[] = "SELECT outcome, grievance_id FROM grievance_link_add($1, $2, $3, $4)";
	struct jv v = { 0 };
	char now[40], person[24];

	jv_only(&v, r->json, "", fields);
	const char *other = jv_string(&v, r->json, "", "grievance", 1, 1, 40);
	if (!v.failed && !grievance_ref_ok(other))
		jv_fail(&v, "", "grievance", "must be a grievance reference, e.g. GV-7K2M-Q9XD-4TPA");
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	clock_now_text(now, sizeof now);
	snprintf(person, sizeof person, "%lld", r->auth.id);
	const char *p[] = { r->params[0], person, other, now };
	grievance_act_retrying(r, sql, 4, p, now, NULL);
}

void grievance_answer(struct http_req *r)
{
	static const char *const fields[] = { "decision", "note", NULL };
	static const char *const decisions[] = { "upheld", "rejected", NULL };
	static const char sql[] =
		"SELECT outcome, grievance_id FROM grievance_answer($1, $2, $3::bigint, $4::int, $5, $6, $7)";
	struct jv v = { 0 };
	char now[40], actor[24], district[24];

	jv_only(&v, r->json, "", fields);
	const char *decision = jv_string(&v, r->json, "", "decision", 1, 1, 20);
	if (!v.failed && !grievance_in(decision, decisions))
		jv_fail(&v, "", "decision", "must be upheld or rejected");
	const char *note = grievance_text(&v, r->json, "note", 1, GRIEVANCE_TEXT_MAX);
	if (v.failed) {
		jv_reply(r, &v);
		return;
	}
	clock_now_text(now, sizeof now);
	snprintf(actor, sizeof actor, "%lld", r->auth.id);
	snprintf(district, sizeof district, "%lld", r->auth.district_id);
	const char *p[] = { r->params[0], auth_role_name(r->auth.role), actor, district, decision, note, now };
	grievance_act_retrying(r, sql, 7, p, now, "mitan_grievances_answered_total");
}

void grievance_appeal(struct http_req *r)
{
	static const char sql[] = "SELECT outcome, grievance_id FROM grievance_appeal($1, $2, $3, $4)";
	char now[40], person[24];
	const char *note;

	if (grievance_note_body(r, &note) != 0)
		return;
	clock_now_text(now, sizeof now);
	snprintf(person, sizeof person, "%lld", r->auth.id);
	const char *p[] = { r->params[0], person, note, now };
	grievance_act_retrying(r, sql, 4, p, now, "mitan_grievances_appealed_total");
}

void grievance_close(struct http_req *r)
{
	static const char sql[] = "SELECT outcome, grievance_id FROM grievance_close($1, $2, $3, $4)";
	char now[40], person[24];
	const char *note;

	if (grievance_note_body(r, &note) != 0)
		return;
	clock_now_text(now, sizeof now);
	snprintf(person, sizeof person, "%lld", r->auth.id);
	const char *p[] = { r->params[0], person, note, now };
	grievance_act_retrying(r, sql, 4, p, now, "mitan_grievances_closed_total");
}
