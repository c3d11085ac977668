#ifndef MITAN_ROUTES_H
#define MITAN_ROUTES_H

#include <stddef.h>

#include "http.h"

extern const struct http_route routes[];
extern const size_t routes_count;
extern const char *const routes_prefixes[];

#endif
