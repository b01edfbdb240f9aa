/* test_json_lite.c: the JSON member reader the health check uses on
 * postierd's /health answers; every input also cut at each byte (a cut
 * document is never valid JSON, so it must be refused). */
#include "postier.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json_lite.h"

static void
test_rows(void **state)
{
	(void)state;
	static const struct {
		const char *name, *in, *key;
		int ret;
		const char *want;
	} rows[] = {
		{ "ok", "{\"status\":\"ok\",\"uptime\":3}", "status", 1, "ok" },
		{ "fail reason", "{\"status\":\"fail\",\"reason\":\"spool "
			"unwritable\"}", "reason", 1, "spool unwritable" },
		{ "number", "{\"a\":-1.5e3}", "a", 1, "-1.5e3" },
		{ "true", "{\"a\":true}", "a", 1, "true" },
		{ "null", "{\"a\":null}", "a", 1, "null" },
		{ "nested skipped", "{\"x\":{\"status\":\"bad\"},\"status\":"
			"\"ok\"}", "status", 1, "ok" },
		{ "nested value", "{\"x\":[1,{\"y\":2}]}", "x", 1, "[...]" },
		{ "escapes", "{\"r\":\"a\\\"b\\\\c\\nd\\u0041\\u00e9\"}", "r", 1,
			"a\"b\\c\ndA?" },
		{ "white space", " \r\n{ \"status\" : \"ok\" }\n", "status", 1,
			"ok" },
		{ "absent", "{\"a\":1}", "status", 0, NULL },
		{ "empty object", "{}", "status", 0, NULL },
		{ "first wins", "{\"s\":\"1\",\"s\":\"2\"}", "s", 1, "1" },
		{ "not object", "[1]", "a", -1, NULL },
		{ "garbage", "<html>", "a", -1, NULL },
		{ "empty", "", "a", -1, NULL },
		{ "trailing", "{\"a\":1} x", "a", -1, NULL },
		{ "trailing comma", "{\"a\":1,}", "a", -1, NULL },
		{ "bad escape", "{\"a\":\"\\x\"}", "a", -1, NULL },
		{ "control char", "{\"a\":\"\x01\"}", "a", -1, NULL },
		{ "bad literal", "{\"a\":tru}", "a", -1, NULL },
		{ "bad number", "{\"a\":1.}", "a", -1, NULL },
		{ "too deep", "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
			"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", "a", -1, NULL },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		char *v = NULL;
		int ret = jsonl_get(rows[i].in, strlen(rows[i].in), rows[i].key,
			&v);
		if (ret != rows[i].ret)
			fail_msg("row '%s': ret %d want %d", rows[i].name, ret,
				rows[i].ret);
		if (ret == 1 && strcmp(v, rows[i].want) != 0)
			fail_msg("row '%s': got '%s'", rows[i].name, v);
		free(v);
		if (rows[i].ret < 0)
			continue;
		/* every strict prefix that ends before the closing brace is
		 * invalid */
		const char *close = strrchr(rows[i].in, '}');
		for (size_t cut = 0; cut < (size_t)(close - rows[i].in);
		    cut++) {
			v = NULL;
			if (jsonl_get(rows[i].in, cut, rows[i].key, &v) != -1)
				fail_msg("row '%s': cut %zu accepted",
					rows[i].name, cut);
			free(v);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
