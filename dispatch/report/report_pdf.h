/* report_pdf: the fortnightly report as an A4 PDF (cairo + pango), drawn from the report's
 * JSON (sql/006_report.sql). Hindi names are shaped by pango with the system's Devanagari
 * fonts (fonts-lohit-deva). */
#ifndef MITAN_REPORT_PDF_H
#define MITAN_REPORT_PDF_H

#include <jansson.h>

#include "util.h"

/* Appends the PDF of `report` to `out` (a bounded buffer). Returns 0 on success, -1 when
 * cairo failed or the buffer's limit was reached (out then holds a partial document).
 * Allocates nothing that outlives the call. */
int report_pdf_render(const json_t *report, buf_t *out);

#endif
