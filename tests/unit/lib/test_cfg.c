/* test_cfg.c: the incremental INI reader and the typed settings table.
 *
 * Reader cases are table rows fed whole and one byte at a time; both runs
 * must produce the same items (or the same error). Table cases load a small
 * settings struct with every type, bounds and a list. */
#include "postier.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/cfg.h"

/* --- the INI reader --- */

static int
record_item(const struct ini_item *item, void *context)
{
	struct buf *out = context;
	if (item->kind == INI_ITEM_SECTION)
		buf_printf(out, "[%s]@%u ", item->section, item->line);
	else
		buf_printf(out, "%s.%s=<%s>@%u ", item->section, item->key,
			item->value, item->line);
	return 0;
}

/* Feeds text in pieces of step bytes (0: whole). Returns the items, or
 * "ERR <reader error>". Caller frees. */
static char *
ini_run(const char *text, size_t len, size_t step)
{
	struct buf out;
	struct ini_reader r;
	buf_init(&out);
	ini_reader_init(&r, record_item, &out);
	int ret = 0;
	if (step == 0) {
		ret = ini_reader_feed(&r, text, len);
	} else {
		for (size_t i = 0; i < len && ret == 0; i += step)
			ret = ini_reader_feed(&r, text + i,
				len - i < step ? len - i : step);
	}
	if (ret == 0)
		ret = ini_reader_finish(&r);
	if (ret < 0) {
		buf_reset(&out);
		buf_printf(&out, "ERR %s", r.error != NULL ? r.error : "(none)");
	}
	ini_reader_clear(&r);
	return buf_steal(&out);
}

struct ini_case {
	const char *name;
	const char *in;
	size_t len; /* 0: strlen(in) */
	const char *want;
};

static const struct ini_case ini_cases[] = {
	{ .name = "section and key", .in = "[a]\nk = v\n",
	  .want = "[a]@1 a.k=<v>@2 " },
	{ .name = "key before any section", .in = "k=v\n", .want = ".k=<v>@1 " },
	{ .name = "last line without newline", .in = "[s]\nk = v",
	  .want = "[s]@1 s.k=<v>@2 " },
	{ .name = "comments and blank lines", .in = "# c\n; c\n\n  \n[s]\n",
	  .want = "[s]@5 " },
	{ .name = "CRLF line ends", .in = "[s]\r\nk = v\r\n",
	  .want = "[s]@1 s.k=<v>@2 " },
	{ .name = "blanks around section name", .in = "[ s ]\n",
	  .want = "[s]@1 " },
	{ .name = "empty value", .in = "k =\n", .want = ".k=<>@1 " },
	{ .name = "empty value with trailing blank", .in = "k = \n",
	  .want = ".k=<>@1 " },
	{ .name = "trailing blanks dropped", .in = "k = v  \t\n",
	  .want = ".k=<v>@1 " },
	{ .name = "equals sign inside value", .in = "k = a=b\n",
	  .want = ".k=<a=b>@1 " },
	{ .name = "quoted keeps blanks", .in = "k = \"  a b \"\n",
	  .want = ".k=<  a b >@1 " },
	{ .name = "quoted escapes", .in = "k = \"a\\\"b\\\\c\"\n",
	  .want = ".k=<a\"b\\c>@1 " },
	{ .name = "dotted and dashed names", .in = "[sec.x-y]\nk_1.z = 1\n",
	  .want = "[sec.x-y]@1 sec.x-y.k_1.z=<1>@2 " },
	{ .name = "8-bit value kept", .in = "k = caf\xc3\xa9\n",
	  .want = ".k=<caf\xc3\xa9>@1 " },
	{ .name = "section header unterminated", .in = "[s\n",
	  .want = "ERR 1: malformed section header" },
	{ .name = "text after section header", .in = "[s] x\n",
	  .want = "ERR 1: malformed section header" },
	{ .name = "empty section name", .in = "[]\n",
	  .want = "ERR 1: bad section name" },
	{ .name = "line without equals", .in = "[s]\nnovalue\n",
	  .want = "ERR 2: expected key = value" },
	{ .name = "blank in key", .in = "bad key = v\n",
	  .want = "ERR 1: bad key name" },
	{ .name = "empty key", .in = " = v\n", .want = "ERR 1: bad key name" },
	{ .name = "unterminated quote", .in = "k = \"abc\n",
	  .want = "ERR 1: unterminated quoted value" },
	{ .name = "lone quote", .in = "k = \"\n",
	  .want = "ERR 1: unterminated quoted value" },
	{ .name = "bad escape", .in = "k = \"a\\x\"\n",
	  .want = "ERR 1: bad escape in quoted value" },
	{ .name = "stray quote", .in = "k = \"a\"b\"\n",
	  .want = "ERR 1: stray quote in quoted value" },
	{ .name = "NUL byte", .in = "k = a\0b\n", .len = 8,
	  .want = "ERR 1: NUL byte in line" },
	{ .name = "error stops at first bad line", .in = "a=1\n[\nb=2\n",
	  .want = "ERR 2: malformed section header" },
};

static void
test_ini_table(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(ini_cases); i++) {
		const struct ini_case *tc = &ini_cases[i];
		size_t len = tc->len != 0 ? tc->len : strlen(tc->in);
		char *whole = ini_run(tc->in, len, 0);
		char *bytes = ini_run(tc->in, len, 1);
		char *threes = ini_run(tc->in, len, 3);
		if (strncmp(whole, tc->want, strlen(tc->want)) != 0 ||
			(strncmp(tc->want, "ERR", 3) != 0 &&
			strcmp(whole, tc->want) != 0))
			fail_msg("row \"%s\": got \"%s\", want \"%s\"", tc->name,
				whole, tc->want);
		if (strcmp(whole, bytes) != 0 || strcmp(whole, threes) != 0)
			fail_msg("row \"%s\": whole \"%s\", byte at a time \"%s\", "
				"3 at a time \"%s\"", tc->name, whole, bytes, threes);
		free(whole);
		free(bytes);
		free(threes);
	}
}

static void
test_ini_long_line(void **state ATTR_UNUSED)
{
	/* a line of INI_MAX_LINE_BYTES is fine, one more byte is not */
	size_t n = INI_MAX_LINE_BYTES;
	char *text = malloc(n + 16);
	assert_non_null(text);
	memcpy(text, "k = ", 4);
	memset(text + 4, 'x', n - 4);
	text[n] = '\n';
	char *ok = ini_run(text, n + 1, 0);
	assert_int_equal(strncmp(ok, ".k=<xxx", 7), 0);
	free(ok);
	text[n] = 'x';
	text[n + 1] = '\n';
	for (size_t step = 0; step <= 1; step++) {
		char *bad = ini_run(text, n + 2, step);
		assert_string_equal(bad, "ERR 1: line longer than 4096 bytes");
		free(bad);
	}
	/* no newline at all: still refused, memory bounded */
	memset(text, 'x', n + 16);
	char *bad = ini_run(text, n + 16, 1);
	assert_string_equal(bad, "ERR 1: line longer than 4096 bytes");
	free(bad);
	free(text);
}

static int
stop_at_second(const struct ini_item *item, void *context)
{
	int *count = context;
	return ++*count == 2 && item->kind == INI_ITEM_KEY ? -1 : 0;
}

static void
test_ini_callback_stops(void **state ATTR_UNUSED)
{
	int count = 0;
	struct ini_reader r;
	ini_reader_init(&r, stop_at_second, &count);
	assert_int_equal(ini_reader_feed(&r, "a=1\nb=2\nc=3\n", 12), -1);
	assert_int_equal(count, 2);
	/* a stopped reader stays stopped */
	assert_int_equal(ini_reader_feed(&r, "d=4\n", 4), -1);
	assert_int_equal(ini_reader_finish(&r), -1);
	assert_null(r.error);
	ini_reader_clear(&r);
}

/* --- value parsers --- */

static void
test_value_parsers(void **state ATTR_UNUSED)
{
	static const struct {
		const char *in;
		int ret;
		uint64_t want;
	} sizes[] = {
		{ "0", 0, 0 }, { "512", 0, 512 }, { "64k", 0, 65536 },
		{ "64K", 0, 65536 }, { "64kB", 0, 65536 }, { "35M", 0, 35ULL << 20 },
		{ "35 MiB", 0, 35ULL << 20 }, { "1G", 0, 1ULL << 30 },
		{ "2gb", 0, 2ULL << 30 }, { "", -1, 0 }, { "-1", -1, 0 },
		{ "1.5M", -1, 0 }, { "10T", -1, 0 }, { "k", -1, 0 },
		{ " 5", -1, 0 }, { "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -1, 0 },
		{ "17179869184G", -1, 0 },
	};
	for (size_t i = 0; i < N_ELEMENTS(sizes); i++) {
		uint64_t v = 0;
		int ret = cfg_parse_size(sizes[i].in, &v);
		if (ret != sizes[i].ret || (ret == 0 && v != sizes[i].want))
			fail_msg("size \"%s\": ret %d value %llu", sizes[i].in, ret,
				(unsigned long long)v);
	}
	static const struct {
		const char *in;
		int ret;
		long long want;
	} durations[] = {
		{ "10", 0, 10000 }, { "500ms", 0, 500 }, { "30s", 0, 30000 },
		{ "30sec", 0, 30000 }, { "5m", 0, 300000 }, { "5min", 0, 300000 },
		{ "1h", 0, 3600000 }, { "2d", 0, 172800000 }, { "0", 0, 0 },
		{ "1.5s", -1, 0 }, { "-1s", -1, 0 }, { "5 m", 0, 300000 },
		{ "5M", -1, 0 }, { "", -1, 0 }, { "s", -1, 0 },
		{ "9223372036854775807d", -1, 0 },
	};
	for (size_t i = 0; i < N_ELEMENTS(durations); i++) {
		long long v = 0;
		int ret = cfg_parse_duration_ms(durations[i].in, &v);
		if (ret != durations[i].ret || (ret == 0 && v != durations[i].want))
			fail_msg("duration \"%s\": ret %d value %lld",
				durations[i].in, ret, v);
	}
	static const struct {
		const char *in;
		int ret;
		long long want;
	} ints[] = {
		{ "0", 0, 0 }, { "42", 0, 42 }, { "-5", 0, -5 }, { "", -1, 0 },
		{ " 1", -1, 0 }, { "12a", -1, 0 }, { "1e3", -1, 0 },
		{ "99999999999999999999", -1, 0 },
	};
	for (size_t i = 0; i < N_ELEMENTS(ints); i++) {
		long long v = 0;
		int ret = cfg_parse_int(ints[i].in, &v);
		if (ret != ints[i].ret || (ret == 0 && v != ints[i].want))
			fail_msg("int \"%s\": ret %d value %lld", ints[i].in, ret, v);
	}
	static const struct {
		const char *in;
		int ret;
		bool want;
	} bools[] = {
		{ "yes", 0, true }, { "On", 0, true }, { "TRUE", 0, true },
		{ "1", 0, true }, { "no", 0, false }, { "off", 0, false },
		{ "false", 0, false }, { "0", 0, false }, { "", -1, false },
		{ "y", -1, false }, { "2", -1, false },
	};
	for (size_t i = 0; i < N_ELEMENTS(bools); i++) {
		bool v = false;
		int ret = cfg_parse_bool(bools[i].in, &v);
		if (ret != bools[i].ret || (ret == 0 && v != bools[i].want))
			fail_msg("bool \"%s\": ret %d", bools[i].in, ret);
	}
}

/* --- the settings table --- */

struct test_settings {
	char *name;
	char *empty;
	long long count;
	bool flag;
	uint64_t size;
	long long timeout_ms;
	int mode;
	struct cfg_list items;
	long long fixed;
};

static const char *const test_modes[] = { "fast", "safe", NULL };

#define TF(f) CFG_FIELD(struct test_settings, f)
static const struct cfg_def test_defs[] = {
	{ "main", "name", CFG_TYPE_STR, "postier", 0, 0, true, TF(name),
		"a name", NULL },
	{ "main", "empty", CFG_TYPE_STR, "", 0, 0, true, TF(empty), "unset", NULL },
	{ "main", "count", CFG_TYPE_INT, "10", 1, 100, true, TF(count),
		"a count", NULL },
	{ "main", "flag", CFG_TYPE_BOOL, "no", 0, 0, true, TF(flag), "a flag",
		NULL },
	{ "limits", "size", CFG_TYPE_SIZE, "1M", 1024, 1 << 30, true, TF(size),
		"a size", NULL },
	{ "limits", "timeout", CFG_TYPE_DURATION, "30s", 100, 3600000, true,
		TF(timeout_ms), "a timeout", NULL },
	{ "limits", "mode", CFG_TYPE_ENUM, "safe", 0, 0, true, TF(mode),
		"a mode", test_modes },
	{ "limits", "item", CFG_TYPE_LIST, "", 0, 0, true, TF(items),
		"repeated", NULL },
	{ "limits", "fixed", CFG_TYPE_INT, "1", 0, 0, false, TF(fixed),
		"needs a restart", NULL },
};

static int
test_load(const char *text, struct test_settings *set, char **error_r)
{
	memset(set, 0, sizeof(*set));
	return cfg_load_string(test_defs, N_ELEMENTS(test_defs), set, "t.conf",
		text, strlen(text), error_r);
}

static void
test_table_defaults(void **state ATTR_UNUSED)
{
	struct test_settings set;
	char *error = NULL;
	assert_int_equal(test_load("", &set, &error), 0);
	assert_string_equal(set.name, "postier");
	assert_null(set.empty);
	assert_int_equal(set.count, 10);
	assert_false(set.flag);
	assert_int_equal(set.size, 1 << 20);
	assert_int_equal(set.timeout_ms, 30000);
	assert_int_equal(set.mode, 1);
	assert_int_equal(set.items.count, 0);
	cfg_free(test_defs, N_ELEMENTS(test_defs), &set);
}

static void
test_table_values(void **state ATTR_UNUSED)
{
	struct test_settings set;
	char *error = NULL;
	const char *text =
		"[main]\nname = other\ncount = 100\nflag = yes\n"
		"[limits]\nsize = 64k\ntimeout = 500ms\nmode = fast\n"
		"item = a\nitem = b c\n";
	assert_int_equal(test_load(text, &set, &error), 0);
	assert_string_equal(set.name, "other");
	assert_int_equal(set.count, 100);
	assert_true(set.flag);
	assert_int_equal(set.size, 65536);
	assert_int_equal(set.timeout_ms, 500);
	assert_int_equal(set.mode, 0);
	assert_int_equal(set.items.count, 2);
	assert_string_equal(set.items.items[0], "a");
	assert_string_equal(set.items.items[1], "b c");
	assert_null(set.items.items[2]);
	cfg_free(test_defs, N_ELEMENTS(test_defs), &set);
}

struct table_case {
	const char *name;
	const char *in;
	const char *want_error;
};

static const struct table_case table_errors[] = {
	{ "unknown section", "[nope]\n", "t.conf:1: unknown section [nope]" },
	{ "unknown key", "[main]\nx = 1\n",
	  "t.conf:2: unknown key x in section [main]" },
	{ "key outside sections", "name = 1\n",
	  "t.conf:1: unknown key name in section []" },
	{ "duplicate key", "[main]\ncount = 1\ncount = 2\n",
	  "t.conf:3: duplicate key count in section [main]" },
	{ "duplicate across headers", "[main]\ncount = 1\n[main]\ncount = 2\n",
	  "t.conf:4: duplicate key count in section [main]" },
	{ "int not a number", "[main]\ncount = ten\n",
	  "t.conf:2: count: expected an integer, got ten" },
	{ "int below min", "[main]\ncount = 0\n",
	  "t.conf:2: count: 0 is outside 1..100" },
	{ "int above max", "[main]\ncount = 101\n",
	  "t.conf:2: count: 101 is outside 1..100" },
	{ "bad bool", "[main]\nflag = maybe\n",
	  "t.conf:2: flag: expected yes or no, got maybe" },
	{ "bad size", "[limits]\nsize = lots\n",
	  "t.conf:2: size: expected a size (e.g. 512, 64k, 35M, 1G), got lots" },
	{ "size below min", "[limits]\nsize = 1000\n",
	  "t.conf:2: size: 1000 is outside 1024..1073741824 bytes" },
	{ "bad duration", "[limits]\ntimeout = soon\n",
	  "t.conf:2: timeout: expected a duration" },
	{ "duration below min", "[limits]\ntimeout = 50ms\n",
	  "t.conf:2: timeout: 50ms is outside 100ms..3600000ms" },
	{ "bad enum", "[limits]\nmode = slow\n",
	  "t.conf:2: mode: expected one of fast, safe, got slow" },
	{ "syntax error has its line", "[main]\n\n\nbroken\n",
	  "t.conf:4: expected key = value" },
};

static void
test_table_errors(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(table_errors); i++) {
		const struct table_case *tc = &table_errors[i];
		struct test_settings set;
		char *error = NULL;
		int ret = test_load(tc->in, &set, &error);
		if (ret != -1 || error == NULL ||
			strncmp(error, tc->want_error, strlen(tc->want_error)) != 0)
			fail_msg("row \"%s\": ret %d error \"%s\", want \"%s\"",
				tc->name, ret, error != NULL ? error : "(null)",
				tc->want_error);
		free(error);
		cfg_free(test_defs, N_ELEMENTS(test_defs), &set);
	}
}

static void
test_print_round_trip(void **state ATTR_UNUSED)
{
	struct test_settings a, b;
	char *error = NULL;
	const char *text = "[main]\nname = \" spaced \"\nflag = on\n"
		"[limits]\ntimeout = 1500ms\nitem = x\nitem = \"y\\\\z\"\n";
	assert_int_equal(test_load(text, &a, &error), 0);
	struct buf out;
	buf_init(&out);
	cfg_print(test_defs, N_ELEMENTS(test_defs), &a, &out);
	assert_non_null(strstr(buf_data(&out), "name = \" spaced \"\n"));
	assert_non_null(strstr(buf_data(&out), "timeout = 1500ms\n"));
	assert_non_null(strstr(buf_data(&out), "(restart to change)"));
	if (test_load(buf_data(&out), &b, &error) < 0)
		fail_msg("printed text does not load: %s\n%s", error, buf_data(&out));
	struct buf re, rs;
	buf_init(&re);
	buf_init(&rs);
	assert_int_equal(cfg_diff(test_defs, N_ELEMENTS(test_defs), &a, &b,
		&re, &rs), 0);
	assert_string_equal(b.items.items[1], "y\\z");
	buf_clear(&out);
	buf_clear(&re);
	buf_clear(&rs);
	cfg_free(test_defs, N_ELEMENTS(test_defs), &a);
	cfg_free(test_defs, N_ELEMENTS(test_defs), &b);
}

static void
test_diff(void **state ATTR_UNUSED)
{
	struct test_settings a, b;
	char *error = NULL;
	assert_int_equal(test_load("[main]\ncount = 5\n", &a, &error), 0);
	assert_int_equal(test_load("[main]\ncount = 6\n[limits]\nfixed = 2\n"
		"item = q\n", &b, &error), 0);
	struct buf re, rs;
	buf_init(&re);
	buf_init(&rs);
	assert_int_equal(cfg_diff(test_defs, N_ELEMENTS(test_defs), &a, &b,
		&re, &rs), 3);
	assert_string_equal(buf_data(&re), "main.count limits.item");
	assert_string_equal(buf_data(&rs), "limits.fixed");
	buf_clear(&re);
	buf_clear(&rs);
	cfg_free(test_defs, N_ELEMENTS(test_defs), &a);
	cfg_free(test_defs, N_ELEMENTS(test_defs), &b);
}

static void
test_set_one(void **state ATTR_UNUSED)
{
	struct test_settings set;
	char *error = NULL;
	assert_int_equal(test_load("", &set, &error), 0);
	assert_int_equal(cfg_set(test_defs, N_ELEMENTS(test_defs), &set,
		"main", "count", "7", &error), 0);
	assert_int_equal(set.count, 7);
	assert_int_equal(cfg_set(test_defs, N_ELEMENTS(test_defs), &set,
		"main", "nope", "7", &error), -1);
	assert_string_equal(error, "unknown key nope in section [main]");
	free(error);
	cfg_free(test_defs, N_ELEMENTS(test_defs), &set);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ini_table),
		cmocka_unit_test(test_ini_long_line),
		cmocka_unit_test(test_ini_callback_stops),
		cmocka_unit_test(test_value_parsers),
		cmocka_unit_test(test_table_defaults),
		cmocka_unit_test(test_table_values),
		cmocka_unit_test(test_table_errors),
		cmocka_unit_test(test_print_round_trip),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_set_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
