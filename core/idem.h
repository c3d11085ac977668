/* idem: Idempotency-Key for requests that create things. Inside the handler's transaction:
 * a repeat with the same key and body gets the first reply again; the same key with another
 * body is 422. Concurrent repeats wait on the key's row and then replay. */
#ifndef MITAN_IDEM_H
#define MITAN_IDEM_H

#include "http.h"

struct idem {
	int active; /* a key was given */
	char principal[48];
	char key[129];
};

/* Returns 0 to go on (then call idem_finish before commit), 1 when a reply was sent (a replay
 * or an error). Must run inside a transaction. */
int idem_begin(struct http_req *r, struct idem *k);
/* Stores the reply for replays; returns the database status. */
enum db_status idem_finish(struct idem *k, int status, const char *body);

#endif
