/* test_buf.c: struct buf and the log-value quoting. */
#include "postier.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"

static void
test_append_and_consume(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b);
	assert_string_equal(buf_data(&b), "");
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "%03d", i);
	assert_int_equal(buf_len(&b), 3000);
	buf_consume(&b, 2997);
	assert_string_equal(buf_data(&b), "999");
	buf_truncate(&b, 1);
	assert_string_equal(buf_data(&b), "9");
	char *s = buf_steal(&b);
	assert_string_equal(s, "9");
	assert_int_equal(buf_len(&b), 0);
	free(s);
	buf_clear(&b);
}

static void
test_logvalue(void **state)
{
	(void)state;
	static const struct {
		const char *name, *in, *want;
		size_t max;
	} rows[] = {
		{ "plain token", "bob@example.org", "bob@example.org", 256 },
		{ "empty", "", "\"\"", 256 },
		{ "space", "a b", "\"a b\"", 256 },
		{ "quote and backslash", "a\"b\\c", "\"a\\\"b\\\\c\"", 256 },
		{ "control and 8-bit", "a\r\n\x01\xff", "\"a\\r\\n\\x01\\xff\"", 256 },
		{ "truncated", "abcdef", "\"abc...\"", 3 },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		struct buf b;
		buf_init(&b);
		buf_append_logvalue(&b, rows[i].in, strlen(rows[i].in), rows[i].max);
		if (strcmp(buf_data(&b), rows[i].want) != 0)
			fail_msg("row '%s': got %s want %s", rows[i].name,
				buf_data(&b), rows[i].want);
		buf_clear(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_consume),
		cmocka_unit_test(test_logvalue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
