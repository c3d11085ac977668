/* upload: resumable document uploads from agents' handsets, tus 1.0.0 (core, creation,
 * checksum with sha256, termination) under /api/v1/agent/uploads. Bytes stream to disk in
 * bounded chunks, encrypted (docstore); an upload becomes a `document` only when its length
 * and whole-file SHA-256 match and libmagic finds JPEG, PNG or PDF in its bytes. */
#ifndef MITAN_UPLOAD_H
#define MITAN_UPLOAD_H

#include "db.h"
#include "http.h"

void upload_options(struct http_req *r); /* OPTIONS /api/v1/agent/uploads */
void upload_create(struct http_req *r);  /* POST /api/v1/agent/uploads */
void upload_head(struct http_req *r);    /* HEAD (and GET) /api/v1/agent/uploads/{id} */
void upload_patch(struct http_req *r);   /* PATCH /api/v1/agent/uploads/{id}: HTTP_STREAM */
void upload_delete(struct http_req *r);  /* DELETE /api/v1/agent/uploads/{id} */

/* The worker's cleanup (job upload_cleanup): removes every open upload expired by `now`, its
 * file and then its row, each with an audit entry (actor system). A recorded document is
 * never touched; an upload being written is left for the next run. *removed counts them. */
enum db_status upload_expire(const char *now, int *removed);

#endif
