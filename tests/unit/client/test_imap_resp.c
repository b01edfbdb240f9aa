/* test_imap_resp.c: the IMAP response parser, whole and one byte at a time:
 * tagged completion, untagged data with literals, continuation, stop mode
 * (greeting, IDLE), malformed input. */
#include "postier.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client/imap_resp.h"

static const struct {
	const char *name, *tag, *in;
	bool stop;
	int want_ret;
	enum imap_resp_kind want_kind;
	enum imap_resp_status want_status;
	const char *want_text, *want_literals;
	unsigned int want_untagged;
} rows[] = {
	{ "tagged ok", "a1", "a1 OK done\r\n", false, 1,
	  IMAP_RESP_KIND_TAGGED, IMAP_RESP_STATUS_OK, "done", "", 0 },
	{ "tagged no", "a1", "* 1 EXISTS\r\na1 NO [AUTHENTICATIONFAILED] x\r\n",
	  false, 1, IMAP_RESP_KIND_TAGGED, IMAP_RESP_STATUS_NO,
	  "[AUTHENTICATIONFAILED] x", "", 1 },
	{ "literal", "a2", "* 1 FETCH (BODY[] {5}\r\nab\r\nc)\r\na2 OK f\r\n",
	  false, 1, IMAP_RESP_KIND_TAGGED, IMAP_RESP_STATUS_OK, "f",
	  "ab\r\nc", 1 },
	{ "two literals", "a2",
	  "* 1 FETCH (X {1}\r\nx Y {3+}\r\n} {)\r\na2 OK f\r\n",
	  false, 1, IMAP_RESP_KIND_TAGGED, IMAP_RESP_STATUS_OK, "f", "x} {", 1 },
	{ "empty literal", "a2", "* 1 FETCH (BODY[] {0}\r\n)\r\na2 OK f\r\n",
	  false, 1, IMAP_RESP_KIND_TAGGED, IMAP_RESP_STATUS_OK, "f", "", 1 },
	{ "continuation", "a3", "+ idling\r\n", false, 1,
	  IMAP_RESP_KIND_CONTINUE, IMAP_RESP_STATUS_NONE, "idling", "", 0 },
	{ "greeting", "", "* OK [CAPABILITY IMAP4rev1] hi\r\n", true, 1,
	  IMAP_RESP_KIND_UNTAGGED, IMAP_RESP_STATUS_OK,
	  "[CAPABILITY IMAP4rev1] hi", "", 1 },
	{ "bye greeting", "", "* BYE busy\r\n", true, 1,
	  IMAP_RESP_KIND_UNTAGGED, IMAP_RESP_STATUS_BYE, "busy", "", 1 },
	{ "idle event", "a4", "* 3 EXISTS\r\n", true, 1,
	  IMAP_RESP_KIND_UNTAGGED, IMAP_RESP_STATUS_NONE, "3 EXISTS", "", 1 },
	{ "incomplete literal", "a2", "* 1 FETCH (BODY[] {10}\r\nabc", false, 0,
	  IMAP_RESP_KIND_TAGGED, IMAP_RESP_STATUS_NONE, "", "abc", 0 },
	{ "other tag", "a1", "a9 OK x\r\n", false, -1,
	  IMAP_RESP_KIND_TAGGED, IMAP_RESP_STATUS_NONE, "", "", 0 },
	{ "tagged garbage", "a1", "a1 MAYBE x\r\n", false, -1,
	  IMAP_RESP_KIND_TAGGED, IMAP_RESP_STATUS_NONE, "", "", 0 },
	{ "garbage", "a1", "hello\r\n", false, -1,
	  IMAP_RESP_KIND_TAGGED, IMAP_RESP_STATUS_NONE, "", "", 0 },
	{ "huge literal", "a1", "* 1 FETCH (BODY[] {99999999999}\r\n", false, -1,
	  IMAP_RESP_KIND_TAGGED, IMAP_RESP_STATUS_NONE, "", "", 0 },
};

static int
feed(struct imap_resp_parser *p, const char *in, size_t step)
{
	size_t len = strlen(in), pos = 0;
	while (pos < len) {
		size_t n = len - pos < step ? len - pos : step;
		size_t used;
		const char *error;
		int ret = imap_resp_parse(p, in + pos, n, &used, &error);
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
		size_t steps[] = { 100000, 1, 4 };
		for (size_t s = 0; s < N_ELEMENTS(steps); s++) {
			struct imap_resp_parser p;
			imap_resp_parser_init(&p);
			assert_int_equal(imap_resp_parser_expect(&p, rows[i].tag,
				rows[i].stop), 0);
			int ret = feed(&p, rows[i].in, steps[s]);
			if (ret != rows[i].want_ret)
				fail_msg("%s (step %zu): ret %d", rows[i].name,
					steps[s], ret);
			if (ret == 1 &&
			    (p.resp.kind != rows[i].want_kind ||
			     p.resp.status != rows[i].want_status ||
			     strcmp(buf_data(&p.resp.text),
				    rows[i].want_text) != 0 ||
			     p.resp.n_untagged != rows[i].want_untagged))
				fail_msg("%s (step %zu): kind %d status %d "
					"[%s] untagged %u", rows[i].name,
					steps[s], p.resp.kind, p.resp.status,
					buf_data(&p.resp.text),
					p.resp.n_untagged);
			if (ret >= 0 && strcmp(buf_data(&p.resp.literals),
					       rows[i].want_literals) != 0)
				fail_msg("%s: literals [%s]", rows[i].name,
					buf_data(&p.resp.literals));
			imap_resp_parser_clear(&p);
		}
	}
}

static void
test_long_tag(void **state)
{
	(void)state;
	struct imap_resp_parser p;
	imap_resp_parser_init(&p);
	char tag[IMAP_TAG_MAX + 2];
	memset(tag, 'a', sizeof(tag) - 1);
	tag[sizeof(tag) - 1] = '\0';
	assert_int_equal(imap_resp_parser_expect(&p, tag, false), -1);
	imap_resp_parser_clear(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_long_tag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
