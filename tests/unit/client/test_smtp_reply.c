/* test_smtp_reply.c: the SMTP reply parser, fed whole and one byte at a
 * time, on good, split, pipelined and malformed replies. */
#include "postier.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client/smtp_reply.h"

static const struct {
	const char *name, *in;
	int want_ret;	/* of the first reply */
	int want_code;
	const char *want_text;
	size_t want_used;	/* 0: all input */
} rows[] = {
	{ "single", "250 ok\r\n", 1, 250, "ok", 0 },
	{ "no text", "354\r\n", 1, 354, "", 0 },
	{ "bare LF", "221 bye\n", 1, 221, "bye", 0 },
	{ "multiline", "250-mx.example\r\n250-SIZE 1000\r\n250 STARTTLS\r\n",
	  1, 250, "mx.example\nSIZE 1000\nSTARTTLS", 0 },
	{ "pipelined", "250 a\r\n250 b\r\n", 1, 250, "a", 7 },
	{ "incomplete", "250-a\r\n250 b", 0, 250, "a", 0 },
	{ "garbage", "hello\r\n", -1, 0, "", 0 },
	{ "bad code", "199 x\r\n", -1, 0, "", 0 },
	{ "bad separator", "250x\r\n", -1, 0, "", 0 },
	{ "code changes", "250-a\r\n251 b\r\n", -1, 250, "a", 0 },
	{ "empty line", "\r\n", -1, 0, "", 0 },
};

/* Feeds in, step bytes at a time; returns the parser's first non-zero
 * result (or 0) and the bytes consumed up to it. */
static int
feed(struct smtp_reply_parser *p, const char *in, size_t step, size_t *used_r)
{
	size_t len = strlen(in), pos = 0;
	while (pos < len) {
		size_t n = len - pos < step ? len - pos : step;
		size_t used;
		const char *error;
		int ret = smtp_reply_parse(p, in + pos, n, &used, &error);
		pos += used;
		if (ret != 0) {
			*used_r = pos;
			return ret;
		}
		assert_int_equal(used, n);
	}
	*used_r = pos;
	return 0;
}

static void
test_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		size_t steps[] = { 100000, 1 };
		for (size_t s = 0; s < N_ELEMENTS(steps); s++) {
			struct smtp_reply_parser p;
			smtp_reply_parser_init(&p);
			size_t used;
			int ret = feed(&p, rows[i].in, steps[s], &used);
			if (ret != rows[i].want_ret)
				fail_msg("%s (step %zu): ret %d", rows[i].name,
					steps[s], ret);
			if (ret >= 0 && p.reply.n_lines > 0) {
				if (p.reply.code != rows[i].want_code ||
				    strcmp(buf_data(&p.reply.text),
					   rows[i].want_text) != 0)
					fail_msg("%s: got %d [%s]", rows[i].name,
						p.reply.code,
						buf_data(&p.reply.text));
			}
			size_t want_used = rows[i].want_used != 0 ?
				rows[i].want_used : strlen(rows[i].in);
			if (ret == 1 && used != want_used)
				fail_msg("%s: used %zu", rows[i].name, used);
			smtp_reply_parser_clear(&p);
		}
	}
}

static void
test_too_long(void **state)
{
	(void)state;
	struct smtp_reply_parser p;
	smtp_reply_parser_init(&p);
	char *big = malloc(SMTP_REPLY_MAX_LINE_BYTES + 10);
	memset(big, 'a', SMTP_REPLY_MAX_LINE_BYTES + 10);
	memcpy(big, "250 ", 4);
	size_t used;
	const char *error;
	assert_int_equal(smtp_reply_parse(&p, big, SMTP_REPLY_MAX_LINE_BYTES + 10,
		&used, &error), -1);
	free(big);
	smtp_reply_parser_clear(&p);
}

static void
test_keywords(void **state)
{
	(void)state;
	struct smtp_reply_parser p;
	smtp_reply_parser_init(&p);
	const char *in = "250-mx\r\n250-AUTH PLAIN LOGIN\r\n250-SIZE=100\r\n"
		"250 8BITMIME\r\n";
	size_t used;
	const char *error, *param;
	size_t pl;
	assert_int_equal(smtp_reply_parse(&p, in, strlen(in), &used, &error), 1);
	assert_true(smtp_reply_has_keyword(&p.reply, "auth", &param, &pl));
	assert_int_equal(pl, strlen("PLAIN LOGIN"));
	assert_memory_equal(param, "PLAIN LOGIN", pl);
	assert_true(smtp_reply_has_keyword(&p.reply, "SIZE", &param, &pl));
	assert_true(smtp_reply_has_keyword(&p.reply, "8BITMIME", NULL, NULL));
	assert_false(smtp_reply_has_keyword(&p.reply, "mx", NULL, NULL));
	assert_false(smtp_reply_has_keyword(&p.reply, "8BIT", NULL, NULL));
	/* The parser refuses input until reset, then parses the next one. */
	assert_int_equal(smtp_reply_parse(&p, "250 x\r\n", 7, &used, &error), -1);
	smtp_reply_parser_reset(&p);
	assert_int_equal(smtp_reply_parse(&p, "250 x\r\n", 7, &used, &error), 1);
	smtp_reply_parser_clear(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_keywords),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
