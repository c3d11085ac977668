/* ops: liveness, readiness and metrics endpoints. */
#ifndef MITAN_OPS_H
#define MITAN_OPS_H

#include "http.h"

void ops_healthz(struct http_req *r); /* the process answers */
void ops_readyz(struct http_req *r);  /* and the database too */
void ops_metrics(struct http_req *r); /* Prometheus text format */

#endif
