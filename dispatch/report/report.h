/* report: the district committee's fortnightly report, as JSON, CSV and PDF.
 * Every figure comes from one SQL function (sql/006_report.sql: report_fortnightly) run at
 * the application clock's now; the CSV and the PDF are rendered in C from that same JSON.
 * Query: ?district=CODE&period=YYYY-MM-1|2. The district defaults to the caller's; another
 * district is 403; an admin without a district must name one. The period defaults to the
 * last complete fortnight before now. docs/REPORT.md defines the figures and the CSV. */
#ifndef MITAN_REPORT_H
#define MITAN_REPORT_H

#include "http.h"

void report_fortnightly(struct http_req *r);     /* GET /api/v1/reports/fortnightly */
void report_fortnightly_csv(struct http_req *r); /* GET /api/v1/reports/fortnightly.csv */
void report_fortnightly_pdf(struct http_req *r); /* GET /api/v1/reports/fortnightly.pdf */
/* GET /api/v1/reports/fortnightly/sealed: the report as sealed when its fortnight closed */
void report_fortnightly_sealed(struct http_req *r);

#endif
