/* dash_png.h: how postier-dash writes librrd's graphs as PNG files.
 *
 * librrd (1.7) draws a graph on a cairo image surface and saves it with
 * cairo_surface_write_to_png(), i.e. with libpng's defaults: zlib level 6
 * and, for every row, a trial of the five PNG filters. That is about two
 * thirds of the instructions of a graph (docs/benchmarks-dashboards.md).
 * dash_png.c defines cairo_surface_write_to_png() in the postier-dash
 * executable: the dynamic linker looks a symbol up in the executable first,
 * so librrd's call lands there and the graph is written by
 * dash_png_write_surface() instead. dash_graph.c calls
 * dash_png_files_written(), which pulls this object (and the override) out
 * of the postier_dash library into every program that draws graphs. */
#ifndef DASH_PNG_H
#define DASH_PNG_H

#include "postier.h"
#include <cairo.h>

/* zlib level of the graphs: level 1 costs a third of level 6 with the
 * filters off, for files about 15 % larger (about 40 KB for 743 x 262) */
#define DASH_PNG_ZLIB_LEVEL 1

/* Writes surface to path as a PNG of the same pixels: an ARGB32 or RGB24
 * image surface as 8-bit RGB when every pixel is opaque, else 8-bit RGBA
 * (the types cairo itself chooses), rows unfiltered, zlib level
 * DASH_PNG_ZLIB_LEVEL; any other surface through cairo's own encoder. The
 * file is replaced atomically (temporary file, rename). Borrows surface.
 * Returns CAIRO_STATUS_SUCCESS, the surface's own error status,
 * CAIRO_STATUS_WRITE_ERROR (errno set) or CAIRO_STATUS_NO_MEMORY (libpng
 * failed, message on stderr). Blocks on disk. */
cairo_status_t dash_png_write_surface(cairo_surface_t *surface, const char *path);

/* Calls of dash_png_write_surface() in this process that wrote their file,
 * and that failed. librrd 1.7 ignores the status of its PNG output (a graph
 * that could not be written is "drawn"), so dash_graph_draw() compares
 * these before and after each graph: a failure is the graph's error, and
 * neither counter moving means librrd did not call the override (another
 * cairo binding: graphs still right, at libpng's default cost). */
unsigned long dash_png_files_written(void);
unsigned long dash_png_files_failed(void);
/* Why the last failed call failed, e.g. "No such file or directory". */
const char *dash_png_last_error(void);

#endif
