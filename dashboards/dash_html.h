/* dash_html.h: the bits every postier-dash page shares: escaping, the page
 * head with its stylesheet (phone-friendly: images scale to the screen),
 * and writing a file atomically. */
#ifndef DASH_HTML_H
#define DASH_HTML_H

#include "postier.h"
#include "core/buf.h"

/* Appends s with & < > " ' escaped. */
void dash_html_escape(struct buf *out, const char *s);
/* Appends the doctype, head (title escaped) and opening body. */
void dash_html_begin(struct buf *out, const char *title);
/* Appends the footer (generator, time) and closes the page. */
void dash_html_end(struct buf *out);
/* Writes data to path through a temporary file and rename(). Returns 0, or
 * -1 with errno set. Blocks on disk. */
int dash_write_file(const char *path, const char *data, size_t len);

#endif
