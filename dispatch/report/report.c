#include "report/report.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "report/report_pdf.h"
#include "util.h"

#define REPORT_CSV_LIMIT (8u << 20)  /* bytes; a district's fortnight is a few hundred rows */
#define REPORT_PDF_LIMIT (32u << 20) /* bytes */

/* The seven booking figures of a row of the report, in the CSV's column order. */
static const char *const report_figures[] = { "booked", "visited",  "completed",   "cancelled",
					      "no_show", "failed", "sla_met_pct", NULL };

/* YYYY-MM-1 or YYYY-MM-2 with a month 01..12 and a year from 2000; the database checks the rest. */
static int report_period_ok(const char *s)
{
	if (strlen(s) != 9 || strspn(s, "0123456789") != 4 || s[4] != '-' || s[7] != '-')
		return 0;
	if (s[5] < '0' || s[5] > '1' || s[6] < '0' || s[6] > '9' || (s[5] == '0' && s[6] == '0') ||
	    (s[5] == '1' && s[6] > '2'))
		return 0;
	return s[0] >= '2' && (s[8] == '1' || s[8] == '2');
}

/* A district code as the district table allows it: [A-Z0-9-]{2,16}. */
static int report_district_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 2 && n <= 16 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

/* Checks the parameters and the caller's right to the district, then runs `sql` with $1 the
 * district's id, $2 the period (NULL: the default) and $3 now. Returns its result, or NULL
 * once it has replied. */
static PGresult *report_query(struct http_req *r, const char *sql)
{
	static const char q_district[] =
		"SELECT id FROM district WHERE CASE WHEN $1::text IS NULL THEN id = $2::int ELSE code = $1 END";
	char code[24], period[16], own[24], now[40], id[24];
	enum db_status st;
	PGresult *res = NULL;

	int has_district = http_query(r, "district", code, sizeof code);
	if (has_district < 0 || (has_district && !report_district_ok(code))) {
		http_error_field(r, "district", "must be a district code, e.g. RPR");
		goto fail;
	}
	int has_period = http_query(r, "period", period, sizeof period);
	if (has_period < 0 || (has_period && !report_period_ok(period))) {
		http_error_field(r, "period",
				 "must be YYYY-MM-1 (local days 1 to 15) or YYYY-MM-2 (the 16th to the month's end)");
		goto fail;
	}
	if (!has_district && r->auth.district_id == 0) {
		http_error_field(r, "district", "is required: your account belongs to no district, name one");
		goto fail;
	}
	snprintf(own, sizeof own, "%lld", r->auth.district_id);
	const char *dp[] = { has_district ? code : NULL, own };
	res = db_exec(q_district, 2, dp, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto fail;
	}
	/* A caller of one district learns nothing of the others, not even whether a code exists. */
	if (r->auth.district_id != 0 && (PQntuples(res) != 1 || db_get_ll(res, 0, 0) != r->auth.district_id)) {
		http_error(r, 403, "forbidden", "you may read the report of your own district only");
		goto fail;
	}
	if (PQntuples(res) != 1) {
		http_error(r, 404, "not_found", "no district with this code");
		goto fail;
	}
	snprintf(id, sizeof id, "%s", db_get(res, 0, 0));
	PQclear(res);
	clock_now_text(now, sizeof now);
	const char *rp[] = { id, has_period ? period : NULL, now };
	res = db_exec(sql, 3, rp, &st);
	if (st == DB_OK)
		return res;
	http_error_db(r, st);
fail:
	PQclear(res);
	return NULL;
}

/* The report's JSON text (the caller frees it), or NULL once it has replied. */
static char *report_load(struct http_req *r)
{
	static const char q_report[] = "SELECT report_fortnightly($1::int, $2, $3::timestamptz)::text";
	char *text = NULL;
	PGresult *res = report_query(r, q_report);
	if (!res)
		return NULL;
	if (!db_get(res, 0, 0)) {
		http_error_field(r, "period", "has not begun yet");
		goto out;
	}
	text = xstrdup(db_get(res, 0, 0));
	metrics_count("mitan_reports_total", 1);
out:
	PQclear(res);
	return text;
}

/* The report as parsed JSON, or NULL once it has replied. */
static json_t *report_load_json(struct http_req *r)
{
	json_error_t jerr;
	json_t *report = NULL;
	char *text = report_load(r);
	if (!text)
		goto out;
	report = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(report)) {
		log_error("report: the database's JSON does not parse: %s", jerr.text);
		json_decref(report);
		report = NULL;
		http_error(r, 500, "internal_error", "the report could not be rendered");
	}
out:
	free(text);
	return report;
}

/* attachment; filename="mitan-report-RPR-2026-11-1.<ext>" (codes are [A-Z0-9-] and digits). */
static void report_disposition(const json_t *report, const char *ext, char *out, size_t outlen)
{
	const char *district = json_string_value(json_object_get(json_object_get(report, "district"), "code"));
	const char *period = json_string_value(json_object_get(json_object_get(report, "period"), "code"));
	snprintf(out, outlen, "attachment; filename=\"mitan-report-%s-%s.%s\"", district ? district : "district",
		 period ? period : "period", ext);
}

void report_fortnightly(struct http_req *r)
{
	char *text = report_load(r);
	if (text)
		http_reply_json_text(r, 200, text);
	free(text);
}

/* ---- CSV (RFC 4180: CRLF line ends, a field with a comma, quote or line break is quoted
 * and its quotes doubled; UTF-8) ---- */

static void report_csv_text(buf_t *b, const char *s)
{
	if (!s)
		return;
	int quoted = strpbrk(s, ",\"\r\n") != NULL;
	if (quoted)
		buf_puts(b, "\"");
	/* A name typed by staff must not become a spreadsheet formula (OWASP "CSV injection"):
	 * text starting with = + - @ or a tab gets a leading apostrophe, which spreadsheets hide. */
	if (s[0] && strchr("=+-@\t\r", s[0]))
		buf_puts(b, "'");
	for (const char *q; quoted && (q = strchr(s, '"')); s = q + 1) {
		buf_append(b, s, (size_t)(q - s) + 1);
		buf_puts(b, "\"");
	}
	buf_puts(b, s);
	if (quoted)
		buf_puts(b, "\"");
}

/* A JSON value as a field: numbers as JSON has them (percentages with one decimal), NULL
 * and absent as an empty field. */
static void report_csv_value(buf_t *b, const json_t *v)
{
	if (json_is_integer(v))
		buf_printf(b, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		buf_printf(b, "%.1f", json_real_value(v));
	else if (json_is_string(v))
		report_csv_text(b, json_string_value(v));
	else if (json_is_boolean(v))
		buf_puts(b, json_is_true(v) ? "true" : "false");
}

/* One row of the figures table: section, code, name, then the seven figures. */
static void report_csv_figures(buf_t *b, const char *section, const char *code, const char *name, const json_t *row)
{
	report_csv_text(b, section);
	buf_puts(b, ",");
	report_csv_text(b, code);
	buf_puts(b, ",");
	report_csv_text(b, name);
	for (size_t i = 0; report_figures[i]; i++) {
		buf_puts(b, ",");
		report_csv_value(b, json_object_get(row, report_figures[i]));
	}
	buf_puts(b, "\r\n");
}

static void report_csv_group(buf_t *b, const json_t *report, const char *key, const char *section,
			     const char *name_key)
{
	size_t i;
	const json_t *row;
	json_array_foreach(json_object_get(report, key), i, row) {
		report_csv_figures(b, section, json_string_value(json_object_get(row, "code")),
				   json_string_value(json_object_get(row, name_key)), row);
	}
}

/* section,figure,current,previous: one figure of an object in both fortnights (previous
 * empty when `prev` is NULL). */
static void report_csv_pair(buf_t *b, const char *section, const char *figure, const json_t *cur, const json_t *prev)
{
	report_csv_text(b, section);
	buf_puts(b, ",");
	report_csv_text(b, figure);
	buf_puts(b, ",");
	report_csv_value(b, json_object_get(cur, figure));
	buf_puts(b, ",");
	report_csv_value(b, json_object_get(prev, figure));
	buf_puts(b, "\r\n");
}

static void report_csv_write(buf_t *b, const json_t *report)
{
	static const char *const district_keys[] = { "code", "name_en", "name_hi", "time_zone", NULL };
	static const char *const period_keys[] = { "code", "from", "to", "complete", NULL };
	static const char *const median_keys[] = { "booking_to_visit", "collection_to_certificate", NULL };
	static const char *const sms_keys[] = { "total", "delivered", "sent", "failed", "pending", "delivery_rate_pct", NULL };
	static const char *const grievance_keys[] = { "raised", "answered", "appealed", "escalated", "closed",
						      "open_overdue", NULL };
	static const char *const tier_keys[] = { "raised", "answered", "escalated", "within_limit_pct", NULL };
	const json_t *district = json_object_get(report, "district");
	const json_t *period = json_object_get(report, "period");
	const json_t *prev = json_object_get(report, "previous");
	const json_t *prev_period = json_object_get(prev, "period");
	const char *name = json_string_value(json_object_get(district, "name_en"));
	const json_t *row;
	size_t i;
	char section[32];

	/* 1. the seven figures per group */
	buf_puts(b, "section,code,name,booked,visited,completed,cancelled,no_show,failed,sla_met_pct\r\n");
	report_csv_figures(b, "total", json_string_value(json_object_get(period, "code")), name,
			   json_object_get(report, "totals"));
	report_csv_figures(b, "previous_total", json_string_value(json_object_get(prev_period, "code")), name,
			   json_object_get(prev, "totals"));
	report_csv_group(b, report, "by_service", "service", "name_en");
	report_csv_group(b, report, "by_zone", "zone", "name_en");
	report_csv_group(b, report, "by_agent", "agent", "name");

	/* 2. the overdue cases */
	buf_puts(b, "\r\nsection,reference,service,zone,status,due_at,days_overdue,officer_name,officer_login\r\n");
	json_array_foreach(json_object_get(report, "overdue"), i, row) {
		static const char *const keys[] = { "reference", "service", "zone", "status", "due_at", "days_overdue", NULL };
		const json_t *officer = json_object_get(row, "officer");
		buf_puts(b, "overdue");
		for (size_t k = 0; keys[k]; k++) {
			buf_puts(b, ",");
			report_csv_value(b, json_object_get(row, keys[k]));
		}
		buf_puts(b, ",");
		report_csv_value(b, json_object_get(officer, "name"));
		buf_puts(b, ",");
		report_csv_value(b, json_object_get(officer, "login"));
		buf_puts(b, "\r\n");
	}

	/* 3. everything else, this fortnight beside the previous one */
	buf_puts(b, "\r\nsection,figure,current,previous\r\n");
	for (i = 0; district_keys[i]; i++)
		report_csv_pair(b, "district", district_keys[i], district, NULL);
	for (i = 0; period_keys[i]; i++)
		report_csv_pair(b, "period", period_keys[i], period, prev_period);
	report_csv_pair(b, "report", "generated_at", report, NULL);
	for (i = 0; median_keys[i]; i++)
		report_csv_pair(b, "median_hours", median_keys[i], json_object_get(report, "median_hours"),
				json_object_get(prev, "median_hours"));
	for (i = 0; sms_keys[i]; i++)
		report_csv_pair(b, "sms", sms_keys[i], json_object_get(report, "sms"), json_object_get(prev, "sms"));
	for (i = 0; grievance_keys[i]; i++)
		report_csv_pair(b, "grievances", grievance_keys[i], json_object_get(report, "grievances"),
				json_object_get(prev, "grievances"));
	json_array_foreach(json_object_get(json_object_get(report, "grievances"), "by_tier"), i, row) {
		snprintf(section, sizeof section, "grievance_tier_%lld",
			 (long long)json_integer_value(json_object_get(row, "tier")));
		for (size_t k = 0; tier_keys[k]; k++)
			report_csv_pair(b, section, tier_keys[k], row, NULL);
	}
}

void report_fortnightly_csv(struct http_req *r)
{
	char disposition[120];
	buf_t b;
	json_t *report = report_load_json(r);

	buf_init(&b, 0); /* unbounded while written (xrealloc aborts on OOM), checked after */
	if (!report)
		goto out;
	report_csv_write(&b, report);
	if (b.len > REPORT_CSV_LIMIT) {
		http_error(r, 500, "internal_error", "the report is too large for a CSV file");
		goto out;
	}
	report_disposition(report, "csv", disposition, sizeof disposition);
	const char *headers[] = { "Content-Disposition", disposition, NULL };
	http_reply_headers(r, 200, "text/csv; charset=utf-8", headers, b.data, b.len);
out:
	buf_free(&b);
	json_decref(report);
}

void report_fortnightly_pdf(struct http_req *r)
{
	char disposition[120];
	buf_t b;
	json_t *report = report_load_json(r);

	buf_init(&b, REPORT_PDF_LIMIT);
	if (!report)
		goto out;
	if (report_pdf_render(report, &b) != 0) {
		log_error("report: the PDF could not be drawn (%zu bytes written)", b.len);
		http_error(r, 500, "internal_error", "the PDF could not be drawn");
		goto out;
	}
	report_disposition(report, "pdf", disposition, sizeof disposition);
	const char *headers[] = { "Content-Disposition", disposition, NULL };
	http_reply_headers(r, 200, "application/pdf", headers, b.data, b.len);
out:
	buf_free(&b);
	json_decref(report);
}

/* The report as it was sealed when its fortnight closed (sql/007): the exact bytes whose
 * SHA-256 the audit log holds, with that digest and the time of sealing in headers. */
void report_fortnightly_sealed(struct http_req *r)
{
	static const char q_sealed[] =
		"SELECT s.body, s.sha256, rfc3339(s.sealed_at, d.time_zone) FROM district d "
		"LEFT JOIN report_seal s ON s.district_id = d.id AND s.period = coalesce($2, report_period_code(( "
		"  SELECT q.first_day FROM report_period_days(report_period_code(($3::timestamptz AT TIME ZONE d.time_zone)::date)) q) - 1)) "
		"WHERE d.id = $1::int";
	PGresult *res = report_query(r, q_sealed);
	if (!res)
		return;
	const char *body = PQntuples(res) == 1 ? db_get(res, 0, 0) : NULL;
	if (!body) {
		http_error(r, 404, "not_sealed",
			   "this fortnight's report is not sealed: it is sealed when the fortnight closes, if anything was booked");
	} else {
		const char *headers[] = { "X-Mitan-Sha256", db_get(res, 0, 1), "X-Mitan-Sealed-At", db_get(res, 0, 2), NULL };
		http_reply_headers(r, 200, "application/json; charset=utf-8", headers, body, strlen(body));
	}
	PQclear(res);
}
