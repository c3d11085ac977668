#include "report/report_pdf.h"

#include <cairo-pdf.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <string.h>

#define PDF_W      595.276 /* A4 in points */
#define PDF_H      841.890
#define PDF_MARGIN 42.0
#define PDF_BODY_W (PDF_W - 2 * PDF_MARGIN)
#define PDF_BOTTOM (PDF_H - PDF_MARGIN - 14.0) /* the footer's line below */
#define PDF_PAD    3.0                         /* inside a table cell */
#define PDF_FONTS  "DejaVu Sans, Lohit Devanagari, Sans"
#define PDF_DASH   "\xe2\x80\x93" /* an en dash, for "no figure" */

enum pdf_font { PDF_NORMAL, PDF_BOLD, PDF_SMALL, PDF_SMALL_BOLD, PDF_HEADING, PDF_TITLE, PDF_NFONTS };

struct pdf {
	cairo_t *cr;
	PangoLayout *layout;
	PangoFontDescription *font[PDF_NFONTS];
	const char *running; /* the header of pages after the first */
	double y;            /* where the next block starts */
	int page;
};

struct pdf_col {
	const char *title;
	double width;
	PangoAlignment align;
};

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer (sanitizer builds only): fontconfig loses 288 bytes once, while it parses
 * its XML configuration (FcInitLoadConfigAndFonts, which pango calls on first use, from a
 * thread of its own). No pointer to them remains, so FcFini at shutdown cannot free them;
 * the report frees everything it makes itself (its own font map, layout, context, cairo
 * objects). Suppressed by module, for fontconfig only, through LSan's documented hook, so
 * that it holds wherever the server runs (make test, make run SANITIZER=...). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\n";
}
#endif

static cairo_status_t pdf_write(void *closure, const unsigned char *data, unsigned int length)
{
	return buf_append(closure, data, length) == 0 ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

/* Lays out `text` in `font` wrapped to `width` (0: one line), draws it at (x, y) when `draw`,
 * and returns its height. */
static double pdf_text_at(struct pdf *p, double x, double y, double width, const char *text, enum pdf_font font,
                          PangoAlignment align, int draw)
{
	int w, h;
	pango_layout_set_font_description(p->layout, p->font[font]);
	pango_layout_set_width(p->layout, width > 0 ? (int)(width * PANGO_SCALE) : -1);
	pango_layout_set_alignment(p->layout, align);
	pango_layout_set_text(p->layout, text ? text : "", -1);
	pango_layout_get_size(p->layout, &w, &h);
	if (draw) {
		cairo_move_to(p->cr, x, y);
		pango_cairo_show_layout(p->cr, p->layout);
	}
	return (double)h / PANGO_SCALE;
}

static void pdf_footer(struct pdf *p)
{
	char text[32];
	snprintf(text, sizeof text, "%d", p->page);
	cairo_set_source_rgb(p->cr, 0.45, 0.45, 0.45);
	pdf_text_at(p, PDF_MARGIN, PDF_H - PDF_MARGIN, PDF_BODY_W, p->running, PDF_SMALL, PANGO_ALIGN_LEFT, 1);
	pdf_text_at(p, PDF_MARGIN, PDF_H - PDF_MARGIN, PDF_BODY_W, text, PDF_SMALL, PANGO_ALIGN_RIGHT, 1);
	cairo_set_source_rgb(p->cr, 0, 0, 0);
}

static void pdf_new_page(struct pdf *p)
{
	cairo_show_page(p->cr);
	p->page++;
	p->y = PDF_MARGIN;
	pdf_footer(p);
}

/* Starts a new page unless `height` more fits on this one; 1 if it did. */
static int pdf_need(struct pdf *p, double height)
{
	if (p->y + height <= PDF_BOTTOM)
		return 0;
	pdf_new_page(p);
	return 1;
}

static void pdf_paragraph(struct pdf *p, const char *text, enum pdf_font font, double after)
{
	double h = pdf_text_at(p, 0, 0, PDF_BODY_W, text, font, PANGO_ALIGN_LEFT, 0);
	pdf_need(p, h);
	p->y += pdf_text_at(p, PDF_MARGIN, p->y, PDF_BODY_W, text, font, PANGO_ALIGN_LEFT, 1) + after;
}

/* A section heading, kept on the page of at least `keep` points of what follows it. */
static void pdf_heading(struct pdf *p, const char *text, double keep)
{
	double h = pdf_text_at(p, 0, 0, PDF_BODY_W, text, PDF_HEADING, PANGO_ALIGN_LEFT, 0);
	p->y += 8;
	pdf_need(p, h + 4 + keep);
	pdf_text_at(p, PDF_MARGIN, p->y, PDF_BODY_W, text, PDF_HEADING, PANGO_ALIGN_LEFT, 1);
	p->y += h + 2;
	cairo_set_line_width(p->cr, 0.8);
	cairo_move_to(p->cr, PDF_MARGIN, p->y);
	cairo_line_to(p->cr, PDF_MARGIN + PDF_BODY_W, p->y);
	cairo_stroke(p->cr);
	p->y += 4;
}

/* ---- tables ---- */

static double pdf_row_height(struct pdf *p, const struct pdf_col *cols, size_t n, const char *const *cells,
                             enum pdf_font font)
{
	double h = 0;
	for (size_t i = 0; i < n; i++) {
		double c = pdf_text_at(p, 0, 0, cols[i].width - 2 * PDF_PAD, cells[i], font, cols[i].align, 0);
		if (c > h)
			h = c;
	}
	return h + 2 * PDF_PAD;
}

static void pdf_row_draw(struct pdf *p, const struct pdf_col *cols, size_t n, const char *const *cells,
                         enum pdf_font font, double h, int shade)
{
	double x = PDF_MARGIN;
	if (shade) {
		cairo_set_source_rgb(p->cr, shade == 2 ? 0.86 : 0.95, shade == 2 ? 0.89 : 0.95,
		                     shade == 2 ? 0.94 : 0.95);
		cairo_rectangle(p->cr, PDF_MARGIN, p->y, PDF_BODY_W, h);
		cairo_fill(p->cr);
		cairo_set_source_rgb(p->cr, 0, 0, 0);
	}
	for (size_t i = 0; i < n; i++) {
		pdf_text_at(p, x + PDF_PAD, p->y + PDF_PAD, cols[i].width - 2 * PDF_PAD, cells[i], font, cols[i].align,
		            1);
		x += cols[i].width;
	}
	p->y += h;
}

static void pdf_table_header(struct pdf *p, const struct pdf_col *cols, size_t n)
{
	const char *titles[16];
	for (size_t i = 0; i < n && i < 16; i++)
		titles[i] = cols[i].title;
	double h = pdf_row_height(p, cols, n, titles, PDF_SMALL_BOLD);
	pdf_row_draw(p, cols, n, titles, PDF_SMALL_BOLD, h, 2);
}

/* Starts a table: its header, on the page of its first rows. */
static void pdf_table_begin(struct pdf *p, const struct pdf_col *cols, size_t n)
{
	pdf_need(p, 48);
	pdf_table_header(p, cols, n);
}

/* One row in `font`; on a new page the header comes again. */
static void pdf_table_row(struct pdf *p, const struct pdf_col *cols, size_t n, const char *const *cells, int index,
                          enum pdf_font font)
{
	double h = pdf_row_height(p, cols, n, cells, font);
	if (pdf_need(p, h))
		pdf_table_header(p, cols, n);
	pdf_row_draw(p, cols, n, cells, font, h, index % 2);
}

/* ---- values ---- */

/* A figure as text: integers as they are, percentages and hours with one decimal, NULL as
 * a dash. */
static const char *pdf_num(const json_t *v, char *out, size_t outlen)
{
	if (json_is_integer(v))
		snprintf(out, outlen, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, outlen, "%.1f", json_real_value(v));
	else
		snprintf(out, outlen, "%s", PDF_DASH);
	return out;
}

/* The change from the previous fortnight: "+3", "-1.5", "0", or a dash when either is NULL. */
static const char *pdf_change(const json_t *cur, const json_t *prev, char *out, size_t outlen)
{
	if (!json_is_number(cur) || !json_is_number(prev)) {
		snprintf(out, outlen, "%s", PDF_DASH);
	} else if (json_is_integer(cur) && json_is_integer(prev)) {
		long long d = (long long)json_integer_value(cur) - (long long)json_integer_value(prev);
		snprintf(out, outlen, d > 0 ? "+%lld" : "%lld", d);
	} else {
		double d = json_number_value(cur) - json_number_value(prev);
		snprintf(out, outlen, d > 0.05 ? "+%.1f" : "%.1f", d < 0.05 && d > -0.05 ? 0.0 : d);
	}
	return out;
}

static const char *pdf_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

/* ---- sections ---- */

static void pdf_title(struct pdf *p, const json_t *report)
{
	const json_t *district = json_object_get(report, "district");
	const json_t *period = json_object_get(report, "period");
	char line[512];

	snprintf(line, sizeof line, "Fortnightly report \xe2\x80\x94 %s (%s)", pdf_str(district, "name_en"),
	         pdf_str(district, "code"));
	pdf_paragraph(p, line, PDF_TITLE, 2);
	snprintf(line, sizeof line,
	         "\xe0\xa4\xaa\xe0\xa4\xbe\xe0\xa4\x95\xe0\xa5\x8d\xe0\xa4\xb7\xe0\xa4\xbf\xe0\xa4\x95 "
	         "\xe0\xa4\xaa\xe0\xa5\x8d\xe0\xa4\xb0\xe0\xa4\xa4\xe0\xa4\xbf\xe0\xa4\xb5\xe0\xa5\x87\xe0\xa4\xa6\xe0"
	         "\xa4\xa8 "
	         "\xe2\x80\x94 %s",
	         pdf_str(district, "name_hi")); /* "पाक्षिक प्रतिवेदन — <name_hi>" */
	pdf_paragraph(p, line, PDF_HEADING, 4);
	snprintf(line, sizeof line, "Period %s: %s to %s (local days, %s)%s", pdf_str(period, "code"),
	         pdf_str(period, "from"), pdf_str(period, "to"), pdf_str(district, "time_zone"),
	         json_is_false(json_object_get(period, "complete")) ? " \xe2\x80\x94 in progress, figures to date"
	                                                            : "");
	pdf_paragraph(p, line, PDF_NORMAL, 1);
	snprintf(line, sizeof line,
	         "Generated %s. Every figure is computed from the recorded events; definitions in "
	         "docs/REPORT.md.",
	         pdf_str(report, "generated_at"));
	pdf_paragraph(p, line, PDF_SMALL, 4);
}

/* Totals, medians, SMS and grievances, each beside the previous fortnight. */
static void pdf_comparison(struct pdf *p, const json_t *report)
{
	static const struct {
		const char *group, *key, *label;
	} rows[] = {
	    {"totals", "booked", "Booked"},
	    {"totals", "visited", "Visited (agent arrived)"},
	    {"totals", "completed", "Completed (certificate ready)"},
	    {"totals", "cancelled", "Cancelled"},
	    {"totals", "no_show", "No-show"},
	    {"totals", "failed", "Failed visits"},
	    {"totals", "sla_met_pct", "Time limit met, %"},
	    {"median_hours", "booking_to_visit", "Median hours, booking to visit"},
	    {"median_hours", "collection_to_certificate", "Median hours, collection to certificate"},
	    {"sms", "total", "SMS messages"},
	    {"sms", "delivery_rate_pct", "SMS delivery rate, %"},
	    {"grievances", "raised", "Grievances raised"},
	    {"grievances", "answered", "Grievances answered"},
	    {"grievances", "appealed", "Appeals"},
	    {"grievances", "escalated", "Escalations"},
	    {"grievances", "closed", "Grievances closed"},
	    {"grievances", "open_overdue", "Grievances open past their limit"},
	};
	const json_t *prev = json_object_get(report, "previous");
	char prev_title[64], a[32], b[32], c[32];
	snprintf(prev_title, sizeof prev_title, "Previous (%s)", pdf_str(json_object_get(prev, "period"), "code"));
	const struct pdf_col cols[] = {
	    {"Figure", 235, PANGO_ALIGN_LEFT},
	    {"This fortnight", 95, PANGO_ALIGN_RIGHT},
	    {prev_title, 95, PANGO_ALIGN_RIGHT},
	    {"Change", PDF_BODY_W - 425, PANGO_ALIGN_RIGHT},
	};
	pdf_heading(p, "This fortnight and the previous one", 60);
	pdf_table_begin(p, cols, 4);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const json_t *cur = json_object_get(json_object_get(report, rows[i].group), rows[i].key);
		const json_t *old = json_object_get(json_object_get(prev, rows[i].group), rows[i].key);
		const char *cells[] = {rows[i].label, pdf_num(cur, a, sizeof a), pdf_num(old, b, sizeof b),
		                       pdf_change(cur, old, c, sizeof c)};
		pdf_table_row(p, cols, 4, cells, (int)i, PDF_NORMAL);
	}
}

/* The smallest of 1, 2, 5 × 10^k at least v (v ≥ 1). */
static double pdf_nice_ceiling(double v)
{
	double unit = 1;
	while (unit * 10 <= v)
		unit *= 10;
	return v <= unit ? unit : v <= 2 * unit ? 2 * unit : v <= 5 * unit ? 5 * unit : 10 * unit;
}

/* Booked and completed by zone: grouped bars with a scale and a legend. */
static void pdf_chart(struct pdf *p, const json_t *zones)
{
	const double height = 150, axis_w = 30, label_h = 26;
	const double x0 = PDF_MARGIN + axis_w, w = PDF_BODY_W - axis_w;
	size_t n = json_array_size(zones), i;
	double top = 1;
	const json_t *z;
	char text[32];

	pdf_heading(p, "Booked and completed by zone", height + label_h + 30);
	if (n == 0) {
		pdf_paragraph(p, "The district has no zones.", PDF_NORMAL, 4);
		return;
	}
	json_array_foreach(zones, i, z)
	{
		double b = json_number_value(json_object_get(z, "booked"));
		double c = json_number_value(json_object_get(z, "completed"));
		if (b > top)
			top = b;
		if (c > top)
			top = c;
	}
	top = pdf_nice_ceiling(top);
	double y0 = p->y + 24, base = y0 + height;
	int steps = top < 5 ? (int)top : 5; /* whole numbers on the scale */

	/* legend */
	static const struct {
		const char *label;
		double r, g, b;
	} series[] = {{"Booked", 0.29, 0.47, 0.71}, {"Completed", 0.24, 0.60, 0.37}};
	for (size_t s = 0; s < 2; s++) {
		double lx = PDF_MARGIN + PDF_BODY_W - 150 + 75 * (double)s;
		cairo_set_source_rgb(p->cr, series[s].r, series[s].g, series[s].b);
		cairo_rectangle(p->cr, lx, p->y + 2, 8, 8);
		cairo_fill(p->cr);
		cairo_set_source_rgb(p->cr, 0, 0, 0);
		pdf_text_at(p, lx + 11, p->y, 60, series[s].label, PDF_SMALL, PANGO_ALIGN_LEFT, 1);
	}
	/* scale */
	cairo_set_line_width(p->cr, 0.4);
	for (int k = 0; k <= steps; k++) {
		double v = top * k / steps, gy = base - height * k / steps;
		cairo_set_source_rgb(p->cr, 0.8, 0.8, 0.8);
		cairo_move_to(p->cr, x0, gy);
		cairo_line_to(p->cr, x0 + w, gy);
		cairo_stroke(p->cr);
		cairo_set_source_rgb(p->cr, 0.3, 0.3, 0.3);
		snprintf(text, sizeof text, v == (long long)v ? "%.0f" : "%.1f", v);
		pdf_text_at(p, PDF_MARGIN, gy - 5, axis_w - 4, text, PDF_SMALL, PANGO_ALIGN_RIGHT, 1);
	}
	/* bars */
	double group = w / (double)n, bar = group * 0.32 > 28 ? 28 : group * 0.32;
	json_array_foreach(zones, i, z)
	{
		double gx = x0 + group * (double)i + group / 2;
		for (size_t s = 0; s < 2; s++) {
			const json_t *v = json_object_get(z, s == 0 ? "booked" : "completed");
			double bh = height * json_number_value(v) / top, bx = gx - bar + bar * (double)s;
			cairo_set_source_rgb(p->cr, series[s].r, series[s].g, series[s].b);
			cairo_rectangle(p->cr, bx + 1, base - bh, bar - 2, bh);
			cairo_fill(p->cr);
			cairo_set_source_rgb(p->cr, 0, 0, 0);
			pdf_text_at(p, bx - 4, base - bh - 10, bar + 8, pdf_num(v, text, sizeof text), PDF_SMALL,
			            PANGO_ALIGN_CENTER, 1);
		}
		pdf_text_at(p, gx - group / 2, base + 3, group, pdf_str(z, "code"), PDF_SMALL, PANGO_ALIGN_CENTER, 1);
		pdf_text_at(p, gx - group / 2, base + 13, group, pdf_str(z, "name_en"), PDF_SMALL, PANGO_ALIGN_CENTER,
		            1);
	}
	cairo_set_source_rgb(p->cr, 0, 0, 0);
	cairo_set_line_width(p->cr, 0.8);
	cairo_move_to(p->cr, x0, base);
	cairo_line_to(p->cr, x0 + w, base);
	cairo_stroke(p->cr);
	p->y = base + label_h + 6;
}

/* A table of the seven figures per service, zone or agent. `kind` 0 service, 1 zone, 2 agent. */
static void pdf_groups(struct pdf *p, const json_t *rows, const char *title, const char *first, int kind)
{
	static const char *const keys[] = {"booked",  "visited", "completed",  "cancelled",
	                                   "no_show", "failed",  "sla_met_pct"};
	const double fw = 52;
	const struct pdf_col cols[] = {
	    {first, PDF_BODY_W - 7 * fw, PANGO_ALIGN_LEFT},
	    {"Booked", fw, PANGO_ALIGN_RIGHT},
	    {"Visited", fw, PANGO_ALIGN_RIGHT},
	    {"Completed", fw, PANGO_ALIGN_RIGHT},
	    {"Cancelled", fw, PANGO_ALIGN_RIGHT},
	    {"No-show", fw, PANGO_ALIGN_RIGHT},
	    {"Failed", fw, PANGO_ALIGN_RIGHT},
	    {"Limit met %", fw, PANGO_ALIGN_RIGHT},
	};
	char num[7][32], name[400];
	const json_t *row;
	size_t i;

	pdf_heading(p, title, 40);
	if (json_array_size(rows) == 0) {
		pdf_paragraph(p, "Nothing happened in this fortnight.", PDF_NORMAL, 4);
		return;
	}
	pdf_table_begin(p, cols, 8);
	json_array_foreach(rows, i, row)
	{
		if (kind == 2)
			snprintf(name, sizeof name, "%s \xc2\xb7 %s (%s)", pdf_str(row, "code"), pdf_str(row, "name"),
			         pdf_str(row, "zone"));
		else
			snprintf(name, sizeof name, "%s\n%s \xc2\xb7 %s", pdf_str(row, "name_en"),
			         pdf_str(row, "name_hi"), pdf_str(row, "code"));
		const char *cells[8] = {name};
		for (size_t k = 0; k < 7; k++)
			cells[k + 1] = pdf_num(json_object_get(row, keys[k]), num[k], sizeof num[k]);
		pdf_table_row(p, cols, 8, cells, (int)i, PDF_NORMAL);
	}
}

static void pdf_sms(struct pdf *p, const json_t *report)
{
	static const char *const keys[] = {"total", "delivered", "sent", "failed", "pending", "delivery_rate_pct"};
	const struct pdf_col cols[] = {
	    {"Fortnight", PDF_BODY_W - 6 * 58, PANGO_ALIGN_LEFT},
	    {"Messages", 58, PANGO_ALIGN_RIGHT},
	    {"Delivered", 58, PANGO_ALIGN_RIGHT},
	    {"With gateway", 58, PANGO_ALIGN_RIGHT},
	    {"Failed", 58, PANGO_ALIGN_RIGHT},
	    {"Pending", 58, PANGO_ALIGN_RIGHT},
	    {"Delivery %", 58, PANGO_ALIGN_RIGHT},
	};
	const json_t *sets[] = {json_object_get(report, "sms"),
	                        json_object_get(json_object_get(report, "previous"), "sms")};
	const char *labels[] = {"This fortnight", "Previous fortnight"};
	char num[6][32];
	pdf_heading(p, "SMS to residents and officers", 50);
	pdf_table_begin(p, cols, 7);
	for (int s = 0; s < 2; s++) {
		const char *cells[7] = {labels[s]};
		for (size_t k = 0; k < 6; k++)
			cells[k + 1] = pdf_num(json_object_get(sets[s], keys[k]), num[k], sizeof num[k]);
		pdf_table_row(p, cols, 7, cells, s, PDF_NORMAL);
	}
	pdf_paragraph(p,
	              "Delivery rate = delivered / (delivered + with the gateway + failed); pending messages are "
	              "not yet with the gateway.",
	              PDF_SMALL, 2);
}

static void pdf_grievances(struct pdf *p, const json_t *report)
{
	static const char *const keys[] = {"raised", "answered", "escalated", "within_limit_pct"};
	const struct pdf_col cols[] = {
	    {"Tier", PDF_BODY_W - 4 * 70, PANGO_ALIGN_LEFT},
	    {"Received", 70, PANGO_ALIGN_RIGHT},
	    {"Answered", 70, PANGO_ALIGN_RIGHT},
	    {"Escalated", 70, PANGO_ALIGN_RIGHT},
	    {"In time %", 70, PANGO_ALIGN_RIGHT},
	};
	const json_t *g = json_object_get(report, "grievances"), *row;
	char num[4][32], name[300], line[300], a[6][32];
	size_t i;
	pdf_heading(p, "Grievances and appeals", 60);
	snprintf(line, sizeof line,
	         "Raised %s, answered %s, appealed %s, escalated %s, closed %s; open past their time limit at the "
	         "end of the fortnight (or now, while it runs): %s.",
	         pdf_num(json_object_get(g, "raised"), a[0], sizeof a[0]),
	         pdf_num(json_object_get(g, "answered"), a[1], sizeof a[1]),
	         pdf_num(json_object_get(g, "appealed"), a[2], sizeof a[2]),
	         pdf_num(json_object_get(g, "escalated"), a[3], sizeof a[3]),
	         pdf_num(json_object_get(g, "closed"), a[4], sizeof a[4]),
	         pdf_num(json_object_get(g, "open_overdue"), a[5], sizeof a[5]));
	pdf_paragraph(p, line, PDF_NORMAL, 4);
	if (json_array_size(json_object_get(g, "by_tier")) == 0)
		return;
	pdf_table_begin(p, cols, 5);
	json_array_foreach(json_object_get(g, "by_tier"), i, row)
	{
		snprintf(name, sizeof name, "%lld. %s\n%s", (long long)json_integer_value(json_object_get(row, "tier")),
		         pdf_str(row, "name_en"), pdf_str(row, "name_hi"));
		const char *cells[5] = {name};
		for (size_t k = 0; k < 4; k++)
			cells[k + 1] = pdf_num(json_object_get(row, keys[k]), num[k], sizeof num[k]);
		pdf_table_row(p, cols, 5, cells, (int)i, PDF_NORMAL);
	}
}

static void pdf_overdue(struct pdf *p, const json_t *report)
{
	const struct pdf_col cols[] = {
	    {"Reference", 100, PANGO_ALIGN_LEFT},
	    {"Service", 112, PANGO_ALIGN_LEFT},
	    {"Zone", 46, PANGO_ALIGN_LEFT},
	    {"Status", 66, PANGO_ALIGN_LEFT},
	    {"Due", 62, PANGO_ALIGN_LEFT},
	    {"Days over", 38, PANGO_ALIGN_RIGHT},
	    {"Officer", PDF_BODY_W - 424, PANGO_ALIGN_LEFT},
	};
	const json_t *rows = json_object_get(report, "overdue"), *row;
	char due[40], days[32], officer[300];
	size_t i;
	pdf_heading(p, "Cases past their time limit", 40);
	if (json_array_size(rows) == 0) {
		pdf_paragraph(p, "No case was past its time limit at the end of the fortnight (or now, while it runs).",
		              PDF_NORMAL, 4);
		return;
	}
	pdf_table_begin(p, cols, 7);
	json_array_foreach(rows, i, row)
	{
		const json_t *o = json_object_get(row, "officer");
		/* "2026-11-03T10:00:00+05:30" → "2026-11-03" and "10:00" */
		snprintf(due, sizeof due, "%.10s\n%.5s", pdf_str(row, "due_at"),
		         strlen(pdf_str(row, "due_at")) > 16 ? pdf_str(row, "due_at") + 11 : "");
		if (json_is_object(o))
			snprintf(officer, sizeof officer, "%s\n%s", pdf_str(o, "name"), pdf_str(o, "login"));
		else
			snprintf(officer, sizeof officer, "none assigned");
		const char *cells[] = {pdf_str(row, "reference"),
		                       pdf_str(row, "service"),
		                       pdf_str(row, "zone"),
		                       pdf_str(row, "status"),
		                       due,
		                       pdf_num(json_object_get(row, "days_overdue"), days, sizeof days),
		                       officer};
		pdf_table_row(p, cols, 7, cells, (int)i, PDF_SMALL);
	}
}

int report_pdf_render(const json_t *report, buf_t *out)
{
	static const char *const fonts[PDF_NFONTS] = {PDF_FONTS " 9",       PDF_FONTS " Bold 9",
	                                              PDF_FONTS " 7.5",     PDF_FONTS " Bold 7.5",
	                                              PDF_FONTS " Bold 13", PDF_FONTS " Bold 19"};
	const json_t *district = json_object_get(report, "district");
	const json_t *period = json_object_get(report, "period");
	struct pdf p = {0};
	cairo_surface_t *surface = NULL;
	PangoFontMap *fontmap = NULL;
	PangoContext *context = NULL;
	char running[200], title[200];
	int rc = -1;

	surface = cairo_pdf_surface_create_for_stream(pdf_write, out, PDF_W, PDF_H);
	if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS)
		goto out;
	snprintf(title, sizeof title, "Mitan fortnightly report %s %s", pdf_str(district, "code"),
	         pdf_str(period, "code"));
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title);
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "Mitan");
	p.cr = cairo_create(surface);
	/* A font map of this call's own: pango's default one is per thread and would outlive it. */
	fontmap = pango_cairo_font_map_new();
	pango_cairo_font_map_set_resolution(PANGO_CAIRO_FONT_MAP(fontmap), 72); /* font sizes in points */
	context = pango_font_map_create_context(fontmap);
	pango_cairo_update_context(p.cr, context);
	p.layout = pango_layout_new(context);
	pango_layout_set_wrap(p.layout, PANGO_WRAP_WORD_CHAR);
	for (int i = 0; i < PDF_NFONTS; i++)
		p.font[i] = pango_font_description_from_string(fonts[i]);
	snprintf(running, sizeof running, "Mitan \xc2\xb7 %s \xc2\xb7 fortnight %s (%s to %s)",
	         pdf_str(district, "name_en"), pdf_str(period, "code"), pdf_str(period, "from"), pdf_str(period, "to"));
	p.running = running;
	p.page = 1;
	p.y = PDF_MARGIN;
	pdf_footer(&p);

	pdf_title(&p, report);
	pdf_comparison(&p, report);
	pdf_chart(&p, json_object_get(report, "by_zone"));
	pdf_groups(&p, json_object_get(report, "by_service"), "By service", "Service", 0);
	pdf_groups(&p, json_object_get(report, "by_zone"), "By zone", "Zone", 1);
	pdf_groups(&p, json_object_get(report, "by_agent"), "By agent", "Agent", 2);
	pdf_sms(&p, report);
	pdf_grievances(&p, report);
	pdf_overdue(&p, report);

	if (cairo_status(p.cr) != CAIRO_STATUS_SUCCESS)
		goto out;
	cairo_surface_finish(surface);
	if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS)
		goto out;
	rc = 0;
out:
	for (int i = 0; i < PDF_NFONTS; i++)
		pango_font_description_free(p.font[i]);
	if (p.layout)
		g_object_unref(p.layout);
	if (context)
		g_object_unref(context);
	if (fontmap)
		g_object_unref(fontmap);
	if (p.cr)
		cairo_destroy(p.cr);
	if (surface) {
		cairo_surface_finish(surface);
		cairo_surface_destroy(surface);
	}
	return rc;
}
