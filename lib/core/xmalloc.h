/* xmalloc.h: allocation that cannot fail. Running out of memory is fatal
 * (logged, abort), so callers never check for NULL. */
#ifndef CORE_XMALLOC_H
#define CORE_XMALLOC_H

#include <stddef.h>
#include "postier.h"

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; the caller frees it. */
char *xasprintf(const char *fmt, ...) ATTR_PRINTF(1, 2);

#endif
