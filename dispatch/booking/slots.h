/* slots: the visit windows a place can be served in, from the agents' capacity ledger. */
#ifndef MITAN_SLOTS_H
#define MITAN_SLOTS_H

#include "http.h"

void slots_list(struct http_req *r); /* GET /api/v1/slots?service=&lat=&lon=&from=&days= */

/* Drops the cached availability of a zone after a booking changed there. */
void slots_invalidate(long zone);

#endif
