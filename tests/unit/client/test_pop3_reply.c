/* test_pop3_reply.c: the POP3 response parser, whole and one byte at a time:
 * status lines, multi-line bodies with dot-unstuffing, malformed input. */
#include "postier.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client/pop3_reply.h"

static const struct {
	const char *name, *in;
	bool multiline;
	int want_ret;
	enum pop3_status want_status;
	const char *want_text, *want_body;
} rows[] = {
	{ "ok", "+OK ready\r\n", false, 1, POP3_STATUS_OK, "ready", "" },
	{ "ok bare", "+OK\r\n", false, 1, POP3_STATUS_OK, "", "" },
	{ "err", "-ERR no such message\r\n", true, 1, POP3_STATUS_ERR,
	  "no such message", "" },
	{ "continuation", "+ VXNlcg==\r\n", false, 1, POP3_STATUS_CONT,
	  "VXNlcg==", "" },
	{ "multiline", "+OK 2 messages\r\n1 a\r\n2 b\r\n.\r\n", true, 1,
	  POP3_STATUS_OK, "2 messages", "1 a\r\n2 b\r\n" },
	{ "dot stuffed", "+OK\r\n..x\r\n...\r\nend\r\n.\r\n", true, 1,
	  POP3_STATUS_OK, "", ".x\r\n..\r\nend\r\n" },
	{ "empty body", "+OK\r\n.\r\n", true, 1, POP3_STATUS_OK, "", "" },
	{ "bare LF", "+OK\n a\n.\n", true, 1, POP3_STATUS_OK, "", " a\r\n" },
	{ "unterminated", "+OK\r\nline\r\n", true, 0, POP3_STATUS_OK, "",
	  "line\r\n" },
	{ "garbage", "220 smtp\r\n", false, -1, POP3_STATUS_ERR, "", "" },
	{ "okay", "+OKAY\r\n", false, -1, POP3_STATUS_ERR, "", "" },
};

static int
feed(struct pop3_reply_parser *p, const char *in, size_t step)
{
	size_t len = strlen(in), pos = 0;
	while (pos < len) {
		size_t n = len - pos < step ? len - pos : step;
		size_t used;
		const char *error;
		int ret = pop3_reply_parse(p, in + pos, n, &used, &error);
		pos += used;
		if (ret != 0)
			return ret;
	}
	return 0;
}

static void
test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		size_t steps[] = { 100000, 1, 3 };
		for (size_t s = 0; s < N_ELEMENTS(steps); s++) {
			struct pop3_reply_parser p;
			pop3_reply_parser_init(&p);
			pop3_reply_parser_expect(&p, rows[i].multiline);
			int ret = feed(&p, rows[i].in, steps[s]);
			if (ret != rows[i].want_ret)
				fail_msg("%s (step %zu): ret %d", rows[i].name,
					steps[s], ret);
			if (ret >= 0 &&
			    (p.reply.status != rows[i].want_status ||
			     strcmp(buf_data(&p.reply.text),
				    rows[i].want_text) != 0 ||
			     strcmp(buf_data(&p.reply.body),
				    rows[i].want_body) != 0))
				fail_msg("%s (step %zu): %d [%s] [%s]",
					rows[i].name, steps[s], p.reply.status,
					buf_data(&p.reply.text),
					buf_data(&p.reply.body));
			pop3_reply_parser_clear(&p);
		}
	}
}

static void
test_leaves_next_response(void **state)
{
	(void)state;
	struct pop3_reply_parser p;
	pop3_reply_parser_init(&p);
	pop3_reply_parser_expect(&p, false);
	const char *in = "+OK a\r\n+OK b\r\n";
	size_t used;
	const char *error;
	assert_int_equal(pop3_reply_parse(&p, in, strlen(in), &used, &error), 1);
	assert_int_equal(used, 7);
	pop3_reply_parser_expect(&p, false);
	assert_int_equal(pop3_reply_parse(&p, in + used, strlen(in) - used,
		&used, &error), 1);
	assert_string_equal(buf_data(&p.reply.text), "b");
	pop3_reply_parser_clear(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_leaves_next_response),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
