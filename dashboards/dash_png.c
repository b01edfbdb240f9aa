/* dash_png.c: PNG output of the graphs, encoded for speed (see dash_png.h
 * for why it overrides cairo_surface_write_to_png). Same pixels, same PNG
 * colour types as cairo; rows unfiltered and zlib level 1 instead of the
 * adaptive filters and level 6. Deliberately not: a palette (anti-aliased
 * text gives a graph about 300-1300 colours, so quantising would change
 * what people see), interlacing, gamma or text chunks. */
#include "postier.h"

#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cairo.h>
#include <png.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "dash_html.h"
#include "dash_png.h"

static unsigned long png_files_written, png_files_failed;
static char png_last_error[256];

unsigned long
dash_png_files_written(void)
{
	return png_files_written;
}

unsigned long
dash_png_files_failed(void)
{
	return png_files_failed;
}

const char *
dash_png_last_error(void)
{
	return png_last_error;
}

static void
png_out_write(png_structp png, png_bytep data, size_t len)
{
	buf_append(png_get_io_ptr(png), data, len);
}

static void
png_out_flush(png_structp png ATTR_UNUSED)
{
}

static cairo_status_t
cairo_out_write(void *closure, const unsigned char *data, unsigned int len)
{
	buf_append(closure, data, len);
	return CAIRO_STATUS_SUCCESS;
}

static bool
surface_is_opaque(const unsigned char *pixels, int width, int height,
	int stride)
{
	for (int y = 0; y < height; y++) {
		const uint32_t *row = (const uint32_t *)(pixels + (size_t)y * stride);
		for (int x = 0; x < width; x++) {
			if ((row[x] >> 24) != 0xff)
				return false;
		}
	}
	return true;
}

/* cairo pixels are native-endian 0xAARRGGBB words, colour premultiplied by
 * alpha (cairo.h, cairo_format_t) */
static void
row_to_rgb(const uint32_t *in, int width, unsigned char *out)
{
	for (int x = 0; x < width; x++) {
		uint32_t p = in[x];
		out[0] = (unsigned char)(p >> 16);
		out[1] = (unsigned char)(p >> 8);
		out[2] = (unsigned char)p;
		out += 3;
	}
}

static unsigned char
unpremultiply(uint32_t c, uint32_t a)
{
	return (unsigned char)((c * 255 + a / 2) / a);
}

static void
row_to_rgba(const uint32_t *in, int width, unsigned char *out)
{
	for (int x = 0; x < width; x++) {
		uint32_t p = in[x], a = p >> 24;
		if (a == 0) {
			memset(out, 0, 4);
		} else {
			out[0] = unpremultiply((p >> 16) & 0xff, a);
			out[1] = unpremultiply((p >> 8) & 0xff, a);
			out[2] = unpremultiply(p & 0xff, a);
			out[3] = (unsigned char)a;
		}
		out += 4;
	}
}

/* What one encoding needs across libpng's longjmp: allocated before
 * setjmp and never reassigned after it. */
struct png_job {
	struct buf out;
	unsigned char *row;
	png_structp png;
	png_infop info;
};

/* Encodes an ARGB32/RGB24 image into job->out. Returns 0, or -1 when libpng
 * failed (it printed why). */
static int
png_encode(struct png_job *job, const unsigned char *pixels, int width,
	int height, int stride, bool opaque)
{
	job->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (job->png == NULL)
		return -1;
	job->info = png_create_info_struct(job->png);
	if (job->info == NULL || setjmp(png_jmpbuf(job->png)) != 0)
		return -1;
	png_set_write_fn(job->png, &job->out, png_out_write, png_out_flush);
	png_set_IHDR(job->png, job->info, (png_uint_32)width, (png_uint_32)height,
		8, opaque ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGB_ALPHA,
		PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
	png_set_filter(job->png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
	png_set_compression_level(job->png, DASH_PNG_ZLIB_LEVEL);
	png_write_info(job->png, job->info);
	for (int y = 0; y < height; y++) {
		const uint32_t *in = (const uint32_t *)(pixels + (size_t)y * stride);
		if (opaque)
			row_to_rgb(in, width, job->row);
		else
			row_to_rgba(in, width, job->row);
		png_write_row(job->png, job->row);
	}
	png_write_end(job->png, job->info);
	return 0;
}

cairo_status_t
dash_png_write_surface(cairo_surface_t *surface, const char *path)
{
	cairo_status_t status = cairo_surface_status(surface);

	if (status != CAIRO_STATUS_SUCCESS) {
		snprintf(png_last_error, sizeof(png_last_error), "%s",
			cairo_status_to_string(status));
		png_files_failed++;
		return status;
	}
	struct png_job *job = xcalloc(1, sizeof(*job));
	buf_init(&job->out);
	cairo_format_t format = CAIRO_FORMAT_INVALID;
	if (cairo_surface_get_type(surface) == CAIRO_SURFACE_TYPE_IMAGE)
		format = cairo_image_surface_get_format(surface);
	if (format != CAIRO_FORMAT_ARGB32 && format != CAIRO_FORMAT_RGB24) {
		/* not what librrd draws on: cairo's own encoder */
		status = cairo_surface_write_to_png_stream(surface, cairo_out_write,
			&job->out);
	} else {
		cairo_surface_flush(surface);
		const unsigned char *pixels = cairo_image_surface_get_data(surface);
		int width = cairo_image_surface_get_width(surface);
		int height = cairo_image_surface_get_height(surface);
		int stride = cairo_image_surface_get_stride(surface);
		bool opaque = format == CAIRO_FORMAT_RGB24 ||
			surface_is_opaque(pixels, width, height, stride);
		job->row = xmalloc((size_t)width * 4);
		if (pixels == NULL || width <= 0 || height <= 0 ||
		    png_encode(job, pixels, width, height, stride, opaque) < 0)
			status = CAIRO_STATUS_NO_MEMORY;
		png_destroy_write_struct(&job->png, &job->info);
	}
	if (status == CAIRO_STATUS_SUCCESS) {
		if (dash_write_file(path, buf_data(&job->out), buf_len(&job->out)) < 0) {
			status = CAIRO_STATUS_WRITE_ERROR;
			snprintf(png_last_error, sizeof(png_last_error), "%s",
				strerror(errno));
		}
	} else {
		snprintf(png_last_error, sizeof(png_last_error), "%s",
			cairo_status_to_string(status));
	}
	if (status == CAIRO_STATUS_SUCCESS)
		png_files_written++;
	else
		png_files_failed++;
	int saved = errno;
	free(job->row);
	buf_clear(&job->out);
	free(job);
	errno = saved;
	return status;
}

/* The override (dash_png.h): librrd saves every graph through this. */
cairo_status_t
cairo_surface_write_to_png(cairo_surface_t *surface, const char *filename)
{
	return dash_png_write_surface(surface, filename);
}
