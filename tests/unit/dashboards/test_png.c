/* test_png.c: dash_png writes the same pixels as cairo's own PNG encoder
 * (opaque, translucent, RGB24 surfaces), the same colour types, unfiltered
 * rows; errors are cairo statuses, counted with their reason; and librrd's
 * graphs really go through it (the cairo_surface_write_to_png override). */
#include "postier.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <cairo.h>
#include <png.h>
#include <rrd.h>
#include <zlib.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "dash_png.h"

static char tmpdir[] = "/tmp/test_png.XXXXXX";

static cairo_status_t
append(void *closure, const unsigned char *data, unsigned int len)
{
	buf_append(closure, data, len);
	return CAIRO_STATUS_SUCCESS;
}

/* -> heap RGBA pixels of a PNG in memory (width*height*4), colour type */
static unsigned char *
decode(const void *data, size_t len, int *width_r, int *height_r,
	int *color_type_r)
{
	png_image img;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&img, data, len))
		fail_msg("not a PNG: %s", img.message);
	/* the colour type is byte 25 of the file (IHDR, PNG spec 11.2.2) */
	*color_type_r = ((const unsigned char *)data)[25];
	img.format = PNG_FORMAT_RGBA;
	unsigned char *px = xmalloc(PNG_IMAGE_SIZE(img));
	if (!png_image_finish_read(&img, NULL, px, 0, NULL))
		fail_msg("PNG does not decode: %s", img.message);
	*width_r = (int)img.width;
	*height_r = (int)img.height;
	return px;
}

/* PNG spec 11.2.4 / 9: the IDAT chunks inflate to height rows of one
 * filter-type byte then the pixels; returns true when every row's filter
 * byte is 0 (None) */
static bool
rows_unfiltered(const unsigned char *png, size_t len, int height, size_t row_bytes)
{
	struct buf idat;

	buf_init(&idat);
	for (size_t pos = 8; pos + 12 <= len; ) {
		size_t n = (size_t)png[pos] << 24 | (size_t)png[pos + 1] << 16 |
			(size_t)png[pos + 2] << 8 | png[pos + 3];
		if (memcmp(png + pos + 4, "IDAT", 4) == 0)
			buf_append(&idat, png + pos + 8, n);
		pos += 12 + n;
	}
	uLongf raw_len = (uLongf)((row_bytes + 1) * (size_t)height);
	unsigned char *raw = xmalloc(raw_len);
	assert_int_equal(uncompress(raw, &raw_len, (const Bytef *)buf_data(&idat),
		(uLong)buf_len(&idat)), Z_OK);
	assert_int_equal(raw_len, (row_bytes + 1) * (size_t)height);
	bool none = true;
	for (int y = 0; y < height; y++)
		none &= raw[(size_t)y * (row_bytes + 1)] == 0;
	free(raw);
	buf_clear(&idat);
	return none;
}

static char *
read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[4096];
	size_t n;

	assert_non_null(f);
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	*len_r = buf_len(&b);
	return buf_steal(&b);
}

/* a graph-like picture: background, grid, anti-aliased line and text */
static void
draw(cairo_surface_t *s, double background_alpha)
{
	cairo_t *cr = cairo_create(s);

	cairo_set_source_rgba(cr, 0.95, 0.95, 0.95, background_alpha);
	cairo_paint(cr);
	cairo_set_source_rgba(cr, 0.8, 0.2, 0.2, 0.6);
	cairo_set_line_width(cr, 1);
	for (int x = 10; x < 200; x += 20) {
		cairo_move_to(cr, x + 0.5, 0);
		cairo_line_to(cr, x + 0.5, 80);
	}
	cairo_stroke(cr);
	cairo_set_source_rgb(cr, 0.1, 0.5, 0.2);
	cairo_set_line_width(cr, 2);
	cairo_move_to(cr, 0, 70);
	for (int x = 0; x < 200; x += 7)
		cairo_line_to(cr, x, 40 + 30 * ((x * 37) % 11) / 11.0);
	cairo_stroke(cr);
	cairo_move_to(cr, 5, 20);
	cairo_set_font_size(cr, 11);
	cairo_show_text(cr, "messages/s last 0.25k avg 1.3M");
	cairo_destroy(cr);
}

static const struct {
	const char *name;
	cairo_format_t format;
	double background_alpha;
	int want_color_type;
} same_cases[] = {
	{ .name = "opaque ARGB32 (what librrd draws)", .format = CAIRO_FORMAT_ARGB32,
	  .background_alpha = 1.0, .want_color_type = PNG_COLOR_TYPE_RGB },
	{ .name = "translucent ARGB32", .format = CAIRO_FORMAT_ARGB32,
	  .background_alpha = 0.3, .want_color_type = PNG_COLOR_TYPE_RGB_ALPHA },
	{ .name = "transparent ARGB32", .format = CAIRO_FORMAT_ARGB32,
	  .background_alpha = 0.0, .want_color_type = PNG_COLOR_TYPE_RGB_ALPHA },
	{ .name = "RGB24", .format = CAIRO_FORMAT_RGB24,
	  .background_alpha = 0.3, .want_color_type = PNG_COLOR_TYPE_RGB },
};

static void
test_same_pixels_as_cairo(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(same_cases); i++) {
		const char *name = same_cases[i].name;
		cairo_surface_t *s = cairo_image_surface_create(same_cases[i].format,
			203, 81);
		draw(s, same_cases[i].background_alpha);
		struct buf ref;
		buf_init(&ref);
		if (cairo_surface_write_to_png_stream(s, append, &ref) != CAIRO_STATUS_SUCCESS)
			fail_msg("%s: cairo's encoder failed", name);
		char *path = xasprintf("%s/%zu.png", tmpdir, i);
		unsigned long before = dash_png_files_written();
		if (dash_png_write_surface(s, path) != CAIRO_STATUS_SUCCESS)
			fail_msg("%s: dash_png_write_surface failed", name);
		if (dash_png_files_written() != before + 1)
			fail_msg("%s: not counted", name);
		size_t len;
		char *ours = read_file(path, &len);
		int w1, h1, t1, w2, h2, t2;
		unsigned char *want = decode(buf_data(&ref), buf_len(&ref), &w1, &h1, &t1);
		unsigned char *got = decode(ours, len, &w2, &h2, &t2);
		if (w1 != w2 || h1 != h2 || w2 != 203 || h2 != 81)
			fail_msg("%s: size %dx%d, cairo's %dx%d", name, w2, h2, w1, h1);
		if (t2 != same_cases[i].want_color_type || t1 != t2)
			fail_msg("%s: colour type %d, cairo's %d, want %d", name, t2, t1,
				same_cases[i].want_color_type);
		if (memcmp(want, got, (size_t)w1 * (size_t)h1 * 4) != 0)
			fail_msg("%s: pixels differ from cairo's PNG", name);
		size_t bpp = t2 == PNG_COLOR_TYPE_RGB ? 3 : 4;
		if (!rows_unfiltered((const unsigned char *)ours, len, h2, (size_t)w2 * bpp))
			fail_msg("%s: filtered rows (not the cheap setting)", name);
		free(want);
		free(got);
		free(ours);
		unlink(path);
		free(path);
		buf_clear(&ref);
		cairo_surface_destroy(s);
	}
}

static void
test_errors(void **state ATTR_UNUSED)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 8, 8);
	char *path = xasprintf("%s/no/such/dir/x.png", tmpdir);
	unsigned long written = dash_png_files_written();
	unsigned long failed = dash_png_files_failed();
	assert_int_equal(dash_png_write_surface(s, path), CAIRO_STATUS_WRITE_ERROR);
	assert_int_equal(dash_png_files_failed(), failed + 1);
	assert_int_equal(dash_png_files_written(), written);
	assert_string_equal(dash_png_last_error(), strerror(ENOENT));
	free(path);
	cairo_surface_destroy(s);
	/* a surface in error keeps its status and writes nothing */
	s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, -1, 8);
	assert_int_not_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
	path = xasprintf("%s/err.png", tmpdir);
	assert_int_equal(dash_png_write_surface(s, path), cairo_surface_status(s));
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(dash_png_files_failed(), failed + 2);
	assert_string_equal(dash_png_last_error(),
		cairo_status_to_string(cairo_surface_status(s)));
	free(path);
	cairo_surface_destroy(s);
}

/* librrd's own call lands in dash_png.c: a graph drawn by rrd_graph_v is
 * counted and written unfiltered */
static void
test_librrd_uses_override(void **state ATTR_UNUSED)
{
	char *rrd = xasprintf("%s/t.rrd", tmpdir);
	char *png = xasprintf("%s/t.png", tmpdir);
	const char *create[] = { "DS:x:GAUGE:120:0:U", "RRA:AVERAGE:0.5:1:100" };
	assert_int_equal(rrd_create_r(rrd, 60, 1700000000, 2, create), 0);
	char *def = xasprintf("DEF:x=%s:x:AVERAGE", rrd);
	char *argv[] = { "graph", png, "--start", "1700000000", "--end",
		"1700003600", "--title", "t", def, "LINE2:x#ff0000:x", NULL };
	unsigned long before = dash_png_files_written();
	rrd_info_t *info = rrd_graph_v((int)N_ELEMENTS(argv) - 1, argv);
	if (info == NULL)
		fail_msg("rrd_graph_v: %s", rrd_get_error());
	rrd_info_free(info);
	assert_int_equal(dash_png_files_written(), before + 1);
	size_t len;
	char *data = read_file(png, &len);
	int w, h, t;
	free(decode(data, len, &w, &h, &t));
	assert_int_equal(t, PNG_COLOR_TYPE_RGB);
	assert_true(rows_unfiltered((const unsigned char *)data, len, h, (size_t)w * 3));
	free(data);
	unlink(png);
	unlink(rrd);
	free(def);
	free(png);
	free(rrd);
}

static int
setup(void **state ATTR_UNUSED)
{
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state ATTR_UNUSED)
{
	return rmdir(tmpdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_pixels_as_cairo),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_librrd_uses_override),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
