/* document: officers read the documents agents uploaded, through short-lived signed links
 * (the link itself is the credential); every view is audited. */
#ifndef MITAN_DOCUMENT_H
#define MITAN_DOCUMENT_H

#include "http.h"

void document_link(struct http_req *r); /* GET /api/v1/bookings/{reference}/documents/{code}/link */
void document_view(struct http_req *r); /* GET /api/v1/documents/{id}?u=&expires=&sig= */

#endif
