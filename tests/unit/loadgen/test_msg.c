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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_altered_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
