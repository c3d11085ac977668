/* catalogue: the services residents can book, with the documents to keep ready. */
#ifndef MITAN_CATALOGUE_H
#define MITAN_CATALOGUE_H

#include "http.h"

void catalogue_list(struct http_req *r); /* GET /api/v1/services */
void catalogue_get(struct http_req *r);  /* GET /api/v1/services/{code} */

#endif
