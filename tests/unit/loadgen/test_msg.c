/* test_msg.c: load-test messages verify after transport changes (added
 * headers, LF line ends) and not after any changed byte or value. */
#include "postier.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "msg.h"

static void
build(struct buf *b, uint64_t seq, size_t size, bool attachment)
{
	static const char *const to[] = { "a@example.test", "b@example.test" };
	struct lgmsg_spec spec = {
		.run_id = "run-1", .seq = seq, .from = "s@example.test",
		.to = to, .n_to = 2, .size = size, .attachment = attachment,
		.date_unix = 1795000000,
	};
	lgmsg_build(b, &spec);
}

static void
test_roundtrip(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		size_t size;
		bool attachment;
	} rows[] = {
		{ "small", 1000, false },
		{ "140k", 140 * 1024, false },
		{ "attachment", 300 * 1024, true },
		{ "huge", 3 * 1024 * 1024, true },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		struct buf b;
		buf_init(&b);
		build(&b, 17 + i, rows[i].size, rows[i].attachment);
		double ratio = (double)buf_len(&b) / (double)rows[i].size;
		if (ratio < 0.9 || ratio > 1.1)
			fail_msg("%s: %zu bytes for %zu wanted", rows[i].name,
				buf_len(&b), rows[i].size);
		uint64_t seq;
		if (lgmsg_verify(buf_data(&b), buf_len(&b), "run-1", &seq) != 1 ||
		    seq != 17 + i)
			fail_msg("%s: does not verify", rows[i].name);
		assert_int_equal(lgmsg_verify(buf_data(&b), buf_len(&b), "run-2",
			&seq), 0);
		/* a server adds headers on top and stores LF line ends */
		struct buf t;
		buf_init(&t);
		buf_append_str(&t, "Return-Path: <s@example.test>\n"
			"Received: from x by y; Mon, 1 Jan 2026 00:00:00 +0000\n");
		for (size_t k = 0; k < buf_len(&b); k++) {
			if (buf_data(&b)[k] != '\r')
				buf_append_char(&t, buf_data(&b)[k]);
		}
		if (lgmsg_verify(buf_data(&t), buf_len(&t), "run-1", &seq) != 1)
			fail_msg("%s: LF copy does not verify", rows[i].name);
		/* one byte changed anywhere in the body */
		size_t at = buf_len(&b) - buf_len(&b) / 3;
		b.data[at] = b.data[at] == 'x' ? 'y' : 'x';
		if (lgmsg_verify(buf_data(&b), buf_len(&b), "run-1", &seq) != -1)
			fail_msg("%s: altered byte verifies", rows[i].name);
		buf_clear(&t);
		buf_clear(&b);
	}
}

static void
test_altered_header(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b);
	build(&b, 5, 2000, false);
	char *p = strstr(b.data, "seq=5 ");
	assert_non_null(p);
	p[4] = '6';
	uint64_t seq;
	assert_int_equal(lgmsg_verify(buf_data(&b), buf_len(&b), "run-1", &seq),
		-1);
	assert_int_equal(seq, 6);
	/* header damaged beyond parsing but still naming the run */
	p = strstr(b.data, "digest=");
	memcpy(p, "dig?st=", 7);
	assert_int_equal(lgmsg_verify(buf_data(&b), buf_len(&b), "run-1", &seq),
		-1);
	assert_int_equal(lgmsg_verify("Subject: x\r\n\r\nbody", 18, "run-1",
		&seq), 0);
	buf_clear(&b);
}

/* The message as iovecs (one lgmsg_iov reused for every row) adds up to
 * its length, verifies, ends with CRLF and never needs dot-stuffing: smtpc
 * sends it unchanged. */
static void
test_iov(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint64_t seq;
		size_t size;
		bool attachment;
	} rows[] = {
		{ "small", 1, 1000, false },
		{ "140k", 2, 140 * 1024, false },
		{ "wraps the block", 3946, 140 * 1024, false }, /* line 4086 */
		{ "attachment", 3, 300 * 1024, true },
		{ "huge, several wraps", 9, 3 * 1024 * 1024, true },
		{ "small again", 10, 2000, false },
	};
	static const char *const to[] = { "a@example.test" };
	struct lgmsg_iov m;
	lgmsg_iov_init(&m);
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		struct lgmsg_spec spec = {
			.run_id = "run-1", .seq = rows[i].seq,
			.from = "s@example.test", .to = to, .n_to = 1,
			.size = rows[i].size, .attachment = rows[i].attachment,
			.date_unix = 1795000000,
		};
		struct buf got;
		buf_init(&got);
		lgmsg_build_iov(&m, &spec);
		for (unsigned int k = 0; k < m.n; k++)
			buf_append(&got, m.iov[k].iov_base, m.iov[k].iov_len);
		/* seq 3946 starts 10 lines before the end of the block: the
		 * text continues from its start in a second block slice */
		if (rows[i].seq == 3946 && m.n != 3)
			fail_msg("%s: %u iovecs, want header + 2 slices",
				rows[i].name, m.n);
		if (m.len != buf_len(&got))
			fail_msg("%s: len %zu, iovecs hold %zu", rows[i].name,
				m.len, buf_len(&got));
		double ratio = (double)m.len / (double)rows[i].size;
		if (ratio < 0.9 || ratio > 1.1)
			fail_msg("%s: %zu bytes for %zu wanted", rows[i].name,
				m.len, rows[i].size);
		const char *d = buf_data(&got);
		size_t len = buf_len(&got);
		if (len < 2 || d[len - 2] != '\r' || d[len - 1] != '\n')
			fail_msg("%s: does not end with CRLF", rows[i].name);
		for (size_t k = 0; k < len; k++) {
			if (d[k] == '.' && (k == 0 || d[k - 1] == '\n'))
				fail_msg("%s: line at %zu starts with a dot",
					rows[i].name, k);
		}
		uint64_t seq;
		if (lgmsg_verify(d, len, "run-1", &seq) != 1 ||
		    seq != rows[i].seq)
			fail_msg("%s: does not verify", rows[i].name);
		buf_clear(&got);
	}
	lgmsg_iov_clear(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_altered_header),
		cmocka_unit_test(test_iov),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
