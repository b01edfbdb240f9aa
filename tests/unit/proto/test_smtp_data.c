/* test_smtp_data.c: the DATA reader, fed whole, one byte at a time and line
 * by line; all three must agree. */
#include "postier.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto/smtp_data.h"

struct data_row {
	const char *name;
	const char *in;
	int ret;             /* 1: end of data found */
	const char *out;     /* message bytes */
	size_t rest;         /* bytes left after the end */
	bool too_long;
	bool too_big;
	uint64_t header_bytes;
	uint64_t bare_lf;
};

static const struct data_row rows[] = {
	{ "empty message", ".\r\n", 1, "", 0, false, false, 0, 0 },
	{ "one line", "hello\r\n.\r\n", 1, "hello\r\n", 0, false, false, 7, 0 },
	{ "headers and body", "A: 1\r\nB: 2\r\n\r\nbody\r\n.\r\n", 1,
		"A: 1\r\nB: 2\r\n\r\nbody\r\n", 0, false, false, 12, 0 },
	{ "dot stuffing", "..x\r\n..\r\n.\r\n", 1, ".x\r\n.\r\n", 0, false, false, 7, 0 },
	{ "pipelined after", "a\r\n.\r\nQUIT\r\n", 1, "a\r\n", 6, false, false, 3, 0 },
	{ "bare lf normalised", "a\nb\r\n.\r\n", 1, "a\r\nb\r\n", 0, false, false, 6, 1 },
	{ "lf dot lf is data", "a\r\n.\nb\r\n.\r\n", 1, "a\r\n\r\nb\r\n", 0, false, false, 3, 1 },
	{ "dot after bare lf is data", "a\n.\r\nb\r\n.\r\n", 1, "a\r\n\r\nb\r\n", 0, false, false, 3, 1 },
	{ "cr dot cr is data", "a\r.\rb\r\n.\r\n", 1, "a\r.\rb\r\n", 0, false, false, 7, 0 },
	{ "dot space", ". \r\n.\r\n", 1, " \r\n", 0, false, false, 3, 0 },
	{ "unfinished", "a\r\nb", 0, "a\r\n", 0, false, false, 3, 0 },
	{ "dot without crlf yet", "a\r\n.", 0, "a\r\n", 0, false, false, 3, 0 },
	{ "nul kept", "a\0b\r\n.\r\n", 1, "a\0b\r\n", 0, false, false, 5, 0 },
};

static size_t
row_len(const struct data_row *row)
{
	/* rows may contain NUL: the length runs to the last '\n' or end */
	size_t n = strlen(row->in);
	if (strcmp(row->name, "nul kept") == 0)
		n = 8;
	return n;
}

static size_t
out_len(const struct data_row *row)
{
	return strcmp(row->name, "nul kept") == 0 ? 5 : strlen(row->out);
}

static void
check(const struct data_row *row, const char *how, int ret, size_t used,
	size_t len, const struct smtp_data_reader *r, const struct buf *out)
{
	if (ret != row->ret)
		fail_msg("row '%s' (%s): ret %d want %d", row->name, how, ret,
			row->ret);
	if (ret == 1 && len - used != row->rest)
		fail_msg("row '%s' (%s): rest %zu want %zu", row->name, how,
			len - used, row->rest);
	if (buf_len(out) != out_len(row) ||
	    memcmp(buf_data(out), row->out, out_len(row)) != 0)
		fail_msg("row '%s' (%s): output '%s'", row->name, how,
			buf_data(out));
	if (r->line_too_long != row->too_long || r->too_big != row->too_big)
		fail_msg("row '%s' (%s): flags", row->name, how);
	if (r->size != out_len(row))
		fail_msg("row '%s' (%s): size %llu", row->name, how,
			(unsigned long long)r->size);
	if (r->header_bytes != row->header_bytes)
		fail_msg("row '%s' (%s): header_bytes %llu want %llu", row->name,
			how, (unsigned long long)r->header_bytes,
			(unsigned long long)row->header_bytes);
	if (r->bare_lf_lines != row->bare_lf)
		fail_msg("row '%s' (%s): bare_lf %llu", row->name, how,
			(unsigned long long)r->bare_lf_lines);
}

static void
test_rows_whole_and_bytewise(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		const struct data_row *row = &rows[i];
		size_t len = row_len(row);
		struct smtp_data_reader r;
		struct buf out;
		size_t used = 0;

		/* whole */
		smtp_data_reader_init(&r, 1000, 0);
		buf_init(&out);
		int ret = smtp_data_parse(&r, row->in, len, &out, &used);
		check(row, "whole", ret, used, len, &r, &out);

		/* one byte at a time */
		smtp_data_reader_reset(&r);
		buf_reset(&out);
		size_t pos = 0;
		ret = 0;
		while (pos < len && ret == 0) {
			size_t u;
			ret = smtp_data_parse(&r, row->in + pos, 1, &out, &u);
			pos += u;
		}
		check(row, "bytewise", ret, pos, len, &r, &out);

		/* line by line, as conn delivers them */
		smtp_data_reader_reset(&r);
		buf_reset(&out);
		pos = 0;
		ret = 0;
		while (ret == 0) {
			const char *lf = memchr(row->in + pos, '\n', len - pos);
			if (lf == NULL)
				break;
			size_t l = (size_t)(lf - (row->in + pos));
			unsigned flags = 0;
			if (l > 0 && row->in[pos + l - 1] == '\r') {
				flags |= SMTP_DATA_LINE_CRLF;
				l--;
			}
			ret = smtp_data_line(&r, row->in + pos, l, flags, &out);
			pos = (size_t)(lf - row->in) + 1;
		}
		if (ret == 1)
			check(row, "lines", ret, pos, len, &r, &out);
		smtp_data_reader_clear(&r);
		buf_clear(&out);
	}
}

static void
test_line_limit(void **state)
{
	(void)state;
	struct smtp_data_reader r;
	struct buf out, in;
	buf_init(&out);
	buf_init(&in);
	/* 998 octets + CRLF = 1000: accepted */
	for (int i = 0; i < 998; i++)
		buf_append_char(&in, 'x');
	buf_append_str(&in, "\r\n.\r\n");
	smtp_data_reader_init(&r, 1000, 0);
	size_t used;
	assert_int_equal(smtp_data_parse(&r, buf_data(&in), buf_len(&in), &out,
		&used), 1);
	assert_false(r.line_too_long);
	assert_int_equal(r.size, 1000);

	/* 999 + CRLF: too long, the reader still finds the end */
	buf_reset(&in);
	buf_reset(&out);
	smtp_data_reader_reset(&r);
	for (int i = 0; i < 999; i++)
		buf_append_char(&in, 'x');
	buf_append_str(&in, "\r\nnext\r\n.\r\nQUIT\r\n");
	assert_int_equal(smtp_data_parse(&r, buf_data(&in), buf_len(&in), &out,
		&used), 1);
	assert_true(r.line_too_long);
	assert_int_equal(buf_len(&in) - used, 6);

	/* a megabyte without LF, one byte at a time: memory stays bounded */
	smtp_data_reader_reset(&r);
	buf_reset(&out);
	int ret = 0;
	for (int i = 0; i < 1024 * 1024; i++) {
		ret = smtp_data_parse(&r, "y", 1, &out, &used);
		assert_int_equal(ret, 0);
	}
	assert_true(r.partial.cap <= 2048);
	if (buf_len(&out) > 1001)
		fail_msg("output %zu bytes", buf_len(&out));
	assert_int_equal(smtp_data_parse(&r, "\r\n.\r\n", 5, &out, &used), 1);
	assert_true(r.line_too_long);
	smtp_data_reader_clear(&r);
	buf_clear(&out);
	buf_clear(&in);
}

static void
test_size_limit(void **state)
{
	(void)state;
	struct smtp_data_reader r;
	struct buf out;
	buf_init(&out);
	size_t used;
	/* exactly at the limit: 10 bytes = "12345678\r\n" */
	smtp_data_reader_init(&r, 1000, 10);
	assert_int_equal(smtp_data_parse(&r, "12345678\r\n.\r\n", 13, &out,
		&used), 1);
	assert_false(r.too_big);
	assert_int_equal(buf_len(&out), 10);
	/* one over: consumed to the end, output stopped */
	smtp_data_reader_reset(&r);
	buf_reset(&out);
	assert_int_equal(smtp_data_parse(&r, "123456789\r\nmore\r\n.\r\n", 20,
		&out, &used), 1);
	assert_true(r.too_big);
	assert_int_equal(used, 20);
	assert_int_equal(buf_len(&out), 0);
	assert_int_equal(r.size, 17);
	smtp_data_reader_clear(&r);
	buf_clear(&out);
}

static void
test_chunking(void **state)
{
	(void)state;
	static const struct {
		const char *name, *in, *out;
		uint64_t bare_lf;
	} rows[] = {
		{ "dots kept", "..a\r\n.\r\nb\r\n", "..a\r\n.\r\nb\r\n", 0 },
		{ "last line completed", "a\r\nb", "a\r\nb\r\n", 0 },
		{ "cr at the end", "a\r", "a\r\n", 0 },
		{ "bare lf", "a\nb\r\n", "a\r\nb\r\n", 1 },
		{ "empty", "", "", 0 },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		for (int bytewise = 0; bytewise < 2; bytewise++) {
			struct smtp_data_reader r;
			struct buf out;
			size_t len = strlen(rows[i].in), used;
			smtp_data_reader_init(&r, 1000, 0);
			r.chunking = true;
			buf_init(&out);
			if (bytewise) {
				for (size_t k = 0; k < len; k++) {
					if (smtp_data_parse(&r, rows[i].in + k, 1,
					    &out, &used) != 0 || used != 1)
						fail_msg("row '%s': bytewise", rows[i].name);
				}
			} else if (smtp_data_parse(&r, rows[i].in, len, &out,
			    &used) != 0 || used != len) {
				fail_msg("row '%s': whole", rows[i].name);
			}
			smtp_data_finish(&r, &out);
			if (strcmp(buf_data(&out), rows[i].out) != 0 ||
			    r.size != strlen(rows[i].out) ||
			    r.bare_lf_lines != rows[i].bare_lf)
				fail_msg("row '%s' (%s): got '%s'", rows[i].name,
					bytewise ? "bytewise" : "whole", buf_data(&out));
			smtp_data_reader_clear(&r);
			buf_clear(&out);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_whole_and_bytewise),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_chunking),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
