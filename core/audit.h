/* audit: the C side of the one audit writer. Every audit row is written by the SQL function
 * audit_write() (sql/008_write_paths.sql); this helper calls it for a request's caller. A
 * statement that writes a row and its audit entry together calls audit_write() in its own
 * SQL instead. The log is append-only and hash-chained (sql/001_foundation.sql). */
#ifndef MITAN_AUDIT_H
#define MITAN_AUDIT_H

#include "db.h"
#include "http.h"

/* An entry for `action` on object `type` `ref` in `district` (NULL: none), attributed to the
 * caller of `r`, at the application clock's now, in the caller's transaction. `detail` is
 * a JSON object's text or NULL. */
enum db_status audit_request(struct http_req *r, const char *district, const char *action, const char *type,
                             const char *ref, const char *detail);

#endif
