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

#define REPORT_CSV_LIMIT      (8u << 20)  /* bytes; a district's fortnight is a few hundred rows */
#define REPORT_PDF_LIMIT      (32u << 20) /* bytes */
#define REPORT_DISTRICT_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
#define REPORT_DISTRICT_MIN   2 /* characters of a district code, as the district table allows */
#define REPORT_DISTRICT_MAX   16
#define REPORT_PERIOD_FORMAT  "YYYY-MM-1 (local days 1 to 15) or YYYY-MM-2 (the 16th to the month's end)"

/* The seven booking figures of a row of the report, in the CSV's column order. */
static const char *const report_figures[] = {"booked",  "visited", "completed",   "cancelled",
                                             "no_show", "failed",  "sla_met_pct", NULL};

/* A file the report is sent as: drawn from the report's JSON into a buffer bounded by
 * `limit`, then sent as an attachment named mitan-report-<district>-<period>.<ext>. */
struct report_format {
	const char *ext;
	const char *content_type;
	size_t limit;                                    /* bytes */
	int (*render)(const json_t *report, buf_t *out); /* 0, or -1 when it could not be drawn */
	const char *failure;                             /* the 500's message when render fails */
};

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

static int report_district_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= REPORT_DISTRICT_MIN && n <= REPORT_DISTRICT_MAX && strspn(s, REPORT_DISTRICT_CHARS) == n;
}

/* Checks the parameters and the caller's right to the district, then runs `sql` with $1 the
 * district's id, $2 the period (NULL: the default) and $3 now. Returns its result, or NULL
 * once it has replied. */
static PGresult *report_query(struct http_req *r, const char *sql)
{
	static const char q_district[] = "SELECT id FROM district "
	                                 "WHERE CASE WHEN $1::text IS NULL THEN id = $2::int ELSE code = $1 END";
	char code[REPORT_DISTRICT_MAX + 1], period[16], now[40];
	struct db_args da = {0}, ra = {0};
	enum db_status st;
	PGresult *res = NULL;

	int has_district = http_query(r, "district", code, sizeof code);
	if (has_district < 0 || (has_district && !report_district_ok(code))) {
		http_error_field(r, "district", "must be a district code, e.g. RPR");
		goto fail;
	}
	int has_period = http_query(r, "period", period, sizeof period);
	if (has_period < 0 || (has_period && !report_period_ok(period))) {
		http_error_field(r, "period", "must be " REPORT_PERIOD_FORMAT);
		goto fail;
	}
	if (!has_district && r->auth.district_id == 0) {
		http_error_field(r, "district", "is required: your account belongs to no district, name one");
		goto fail;
	}
	db_arg_text(&da, has_district ? code : NULL);
	db_arg_ll(&da, r->auth.district_id);
	res = db_exec(q_district, da.n, da.v, &st);
	if (st != DB_OK) {
		http_error_db(r, st);
		goto fail;
	}
	/* A caller of one district learns nothing of the others, not even whether a code exists. */
	if (r->auth.district_id != 0 && (PQntuples(res) != 1 || db_col_ll(res, 0, "id") != r->auth.district_id)) {
		http_error(r, 403, "forbidden", "you may read the report of your own district only");
		goto fail;
	}
	if (PQntuples(res) != 1) {
		http_error(r, 404, "not_found", "no district with this code");
		goto fail;
	}
	db_arg_ll(&ra, db_col_ll(res, 0, "id"));
	PQclear(res);
	clock_now_text(now, sizeof now);
	db_arg_text(&ra, has_period ? period : NULL);
	db_arg_text(&ra, now);
	res = db_exec(sql, ra.n, ra.v, &st);
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
	static const char q_report[] = "SELECT report_fortnightly($1::int, $2, $3::timestamptz)::text AS report";
	char *text = NULL;
	PGresult *res = report_query(r, q_report);
	if (!res)
		return NULL;
	const char *report = db_col(res, 0, "report");
	if (!report) {
		http_error_field(r, "period", "has not begun yet");
		goto out;
	}
	text = xstrdup(report);
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

/* Loads the report and sends it as the file `f`. */
static void report_send(struct http_req *r, const struct report_format *f)
{
	char disposition[120];
	buf_t b;
	json_t *report = report_load_json(r);

	buf_init(&b, f->limit);
	if (!report)
		goto out;
	if (f->render(report, &b) != 0) {
		log_error("report: the %s could not be drawn (%zu bytes written)", f->ext, b.len);
		http_error(r, 500, "internal_error", "%s", f->failure);
		goto out;
	}
	report_disposition(report, f->ext, disposition, sizeof disposition);
	const char *headers[] = {"Content-Disposition", disposition, NULL};
	http_reply_headers(r, 200, f->content_type, headers, b.data, b.len);
out:
	buf_free(&b);
	json_decref(report);
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
	const char *q = quoted ? strchr(s, '"') : NULL;
	while (q) {
		buf_append(b, s, (size_t)(q - s) + 1);
		buf_puts(b, "\"");
		s = q + 1;
		q = strchr(s, '"');
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

static void report_csv_group(buf_t *b, const json_t *report, const char *key, const char *section, const char *name_key)
{
	size_t i;
	const json_t *row;
	json_array_foreach(json_object_get(report, key), i, row)
	{
		report_csv_figures(b, section, json_string_value(json_object_get(row, "code")),
		                   json_string_value(json_object_get(row, name_key)), row);
	}
}

/* section,figure,current,previous: each figure of `keys` in this fortnight's object and the
 * previous one's (an empty field where that has no such figure, or is NULL). */
static void report_csv_pairs(buf_t *b, const char *section, const char *const *keys, const json_t *cur,
                             const json_t *prev)
{
	for (size_t i = 0; keys[i]; i++) {
		report_csv_text(b, section);
		buf_puts(b, ",");
		report_csv_text(b, keys[i]);
		buf_puts(b, ",");
		report_csv_value(b, json_object_get(cur, keys[i]));
		buf_puts(b, ",");
		report_csv_value(b, json_object_get(prev, keys[i]));
		buf_puts(b, "\r\n");
	}
}

static void report_csv_write(buf_t *b, const json_t *report)
{
	static const char *const district_keys[] = {"code", "name_en", "name_hi", "time_zone", NULL};
	static const char *const period_keys[] = {"code", "from", "to", "complete", NULL};
	static const char *const report_keys[] = {"generated_at", NULL};
	static const char *const median_keys[] = {"booking_to_visit", "collection_to_certificate", NULL};
	static const char *const sms_keys[] = {"total",   "delivered",         "sent", "failed",
	                                       "pending", "delivery_rate_pct", NULL};
	static const char *const grievance_keys[] = {"raised", "answered",     "appealed", "escalated",
	                                             "closed", "open_overdue", NULL};
	static const char *const tier_keys[] = {"raised", "answered", "escalated", "within_limit_pct", NULL};
	static const char *const overdue_keys[] = {"reference", "service",      "zone", "status",
	                                           "due_at",    "days_overdue", NULL};
	/* The third table's sections: a member of the report (NULL: the report itself) and its
	 * figures; the previous fortnight has no district and no generated_at. */
	static const struct {
		const char *section, *member;
		const char *const *keys;
	} pairs[] = {
	    {"district", "district", district_keys},
	    {"period", "period", period_keys},
	    {"report", NULL, report_keys},
	    {"median_hours", "median_hours", median_keys},
	    {"sms", "sms", sms_keys},
	    {"grievances", "grievances", grievance_keys},
	};
	const json_t *period = json_object_get(report, "period");
	const json_t *prev = json_object_get(report, "previous");
	const char *name = json_string_value(json_object_get(json_object_get(report, "district"), "name_en"));
	const json_t *row;
	size_t i;
	char section[32];

	/* 1. the seven figures per group */
	buf_puts(b, "section,code,name,booked,visited,completed,cancelled,no_show,failed,sla_met_pct\r\n");
	report_csv_figures(b, "total", json_string_value(json_object_get(period, "code")), name,
	                   json_object_get(report, "totals"));
	report_csv_figures(b, "previous_total",
	                   json_string_value(json_object_get(json_object_get(prev, "period"), "code")), name,
	                   json_object_get(prev, "totals"));
	report_csv_group(b, report, "by_service", "service", "name_en");
	report_csv_group(b, report, "by_zone", "zone", "name_en");
	report_csv_group(b, report, "by_agent", "agent", "name");

	/* 2. the overdue cases */
	buf_puts(b, "\r\nsection,reference,service,zone,status,due_at,days_overdue,officer_name,officer_login\r\n");
	json_array_foreach(json_object_get(report, "overdue"), i, row)
	{
		const json_t *officer = json_object_get(row, "officer");
		buf_puts(b, "overdue");
		for (size_t k = 0; overdue_keys[k]; k++) {
			buf_puts(b, ",");
			report_csv_value(b, json_object_get(row, overdue_keys[k]));
		}
		buf_puts(b, ",");
		report_csv_value(b, json_object_get(officer, "name"));
		buf_puts(b, ",");
		report_csv_value(b, json_object_get(officer, "login"));
		buf_puts(b, "\r\n");
	}

	/* 3. everything else, this fortnight beside the previous one */
	buf_puts(b, "\r\nsection,figure,current,previous\r\n");
	for (i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		const char *m = pairs[i].member;
		report_csv_pairs(b, pairs[i].section, pairs[i].keys, m ? json_object_get(report, m) : report,
		                 m ? json_object_get(prev, m) : prev);
	}
	json_array_foreach(json_object_get(json_object_get(report, "grievances"), "by_tier"), i, row)
	{
		snprintf(section, sizeof section, "grievance_tier_%lld",
		         (long long)json_integer_value(json_object_get(row, "tier")));
		report_csv_pairs(b, section, tier_keys, row, NULL);
	}
}

/* The CSV, written unbounded (xrealloc aborts on OOM) so that no line is dropped on the way,
 * then taken whole into `out` or refused when it passes out's limit. */
static int report_csv_render(const json_t *report, buf_t *out)
{
	buf_t csv;
	buf_init(&csv, 0);
	report_csv_write(&csv, report);
	int rc = buf_append(out, csv.data, csv.len);
	buf_free(&csv);
	return rc;
}

static const struct report_format report_csv = {"csv", "text/csv; charset=utf-8", REPORT_CSV_LIMIT, report_csv_render,
                                                "the report is too large for a CSV file"};
static const struct report_format report_pdf = {"pdf", "application/pdf", REPORT_PDF_LIMIT, report_pdf_render,
                                                "the PDF could not be drawn"};

void report_fortnightly_csv(struct http_req *r)
{
	report_send(r, &report_csv);
}

void report_fortnightly_pdf(struct http_req *r)
{
	report_send(r, &report_pdf);
}

/* The report as it was sealed when its fortnight closed (sql/007): the exact bytes whose
 * SHA-256 the audit log holds, with that digest and the time of sealing in headers. */
void report_fortnightly_sealed(struct http_req *r)
{
	static const char q_sealed[] =
	    "SELECT s.body, s.sha256, rfc3339(s.sealed_at, d.time_zone) AS sealed_at FROM district d "
	    "LEFT JOIN report_seal s ON s.district_id = d.id AND s.period = coalesce($2, report_period_code(( "
	    "  SELECT q.first_day FROM report_period_days(report_period_code(($3::timestamptz AT TIME ZONE "
	    "d.time_zone)::date)) q) - 1)) "
	    "WHERE d.id = $1::int";
	PGresult *res = report_query(r, q_sealed);
	if (!res)
		return;
	const char *body = PQntuples(res) == 1 ? db_col(res, 0, "body") : NULL;
	if (!body) {
		http_error(r, 404, "not_sealed",
		           "this fortnight's report is not sealed: it is sealed when the fortnight closes, if anything "
		           "was booked");
	} else {
		const char *headers[] = {"X-Mitan-Sha256", db_col(res, 0, "sha256"), "X-Mitan-Sealed-At",
		                         db_col(res, 0, "sealed_at"), NULL};
		http_reply_headers(r, 200, "application/json; charset=utf-8", headers, body, strlen(body));
	}
	PQclear(res);
}
