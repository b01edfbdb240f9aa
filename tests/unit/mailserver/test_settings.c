/* test_settings.c: postierd's settings table: defaults, checks across keys
 * with FILE:LINE errors, listen address syntax, -n output that loads back,
 * and docs/configuration.md naming every key. */
#include "postier.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "settings.h"

static char tmpdir[] = "/tmp/postier-test-settings-XXXXXX";

static char *
write_conf(const char *name, const char *text)
{
	char *path;
	if (asprintf(&path, "%s/%s", tmpdir, name) < 0)
		fail();
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int
setup(void **state ATTR_UNUSED)
{
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
teardown(void **state ATTR_UNUSED)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_defaults(void **state ATTR_UNUSED)
{
	char *path = write_conf("empty.conf", "");
	char *error = NULL;
	struct postierd_settings *set = settings_load(path, &error);
	if (set == NULL)
		fail_msg("%s", error);
	/* the embedded default: loopback only, sane limits */
	assert_string_equal(set->listen_smtp, "127.0.0.1:2525");
	assert_string_equal(set->listen_admin, "127.0.0.1:2080");
	assert_string_equal(set->data_dir, "/var/lib/postier");
	assert_string_equal(set->tls_min_version, "TLSv1.2");
	assert_int_equal(set->auth_ban_failures, 6);
	assert_int_equal(set->auth_ban_window_ms, 10 * 60 * 1000);
	assert_int_equal(set->auth_ban_time_ms, 60 * 1000);
	assert_int_equal(set->smtp_max_line_bytes, 1000);
	assert_true(set->smtp_timeout_command_ms >= 5 * 60 * 1000);
	assert_true(set->imap_timeout_ms >= 30 * 60 * 1000);
	assert_false(set->smtp_plaintext_auth);
	assert_non_null(set->hostname);
	assert_non_null(strstr(set->config_path, "empty.conf"));
	assert_int_equal(set->refcount, 1);
	struct postierd_settings *extra = settings_ref(set);
	assert_int_equal(set->refcount, 2);
	settings_unref(&extra);
	assert_null(extra);
	assert_int_equal(set->refcount, 1);
	settings_unref(&set);
	assert_null(set);
	free(path);
}

static void
test_table_sane(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < settings_defs_count; i++) {
		const struct cfg_def *d = &settings_defs[i];
		if (d->offset >= sizeof(struct postierd_settings))
			fail_msg("[%s] %s: offset outside the struct", d->section, d->key);
		if (d->help == NULL || d->help[0] == '\0')
			fail_msg("[%s] %s: no help line", d->section, d->key);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(settings_defs[j].section, d->section) == 0 &&
				strcmp(settings_defs[j].key, d->key) == 0)
				fail_msg("[%s] %s: twice in the table", d->section, d->key);
			if (settings_defs[j].offset == d->offset)
				fail_msg("[%s] %s: shares a field", d->section, d->key);
		}
	}
}

struct bad_case {
	const char *name;
	const char *text;
	const char *want; /* after "DIR/bad.conf" */
};

static const struct bad_case bad_cases[] = {
	{ "syntax", "[server]\nthreads\n", ":2: expected key = value" },
	{ "unknown key", "[server]\n\nnope = 1\n",
	  ":3: unknown key nope in section [server]" },
	{ "bounds", "[limits]\nmax_connections = 0\n",
	  ":2: max_connections: 0 is outside 1..1000000" },
	{ "log level", "[server]\nlog_level = loud\n",
	  ":2: log_level: expected debug, info, warn or error" },
	{ "log file missing", "[server]\nlog_target = file\n",
	  ":2: log_target: log_target = file needs log_file" },
	{ "relative data_dir", "# c\n[server]\ndata_dir = data\n",
	  ":3: data_dir: must be an absolute path" },
	{ "listen without port", "[listen]\nsmtp = 127.0.0.1\n",
	  ":2: smtp: expected host:port or [v6]:port, got 127.0.0.1" },
	{ "listen bad port", "[listen]\nimap = 127.0.0.1:99999\n",
	  ":2: imap: expected host:port" },
	{ "cert without key", "[tls]\ncert_file = /x.pem\n",
	  ":2: cert_file: cert_file and key_file go together" },
	{ "tls version", "[tls]\nmin_version = SSLv3\n",
	  ":2: min_version: expected TLSv1.2 or TLSv1.3" },
	{ "admin off loopback", "[listen]\nadmin = 0.0.0.0:8080\n",
	  ":2: admin: not a loopback address: set admin.token" },
	{ "mail location", "[mail]\nlocation = mbox:~/mail\n",
	  ":2: location: expected maildir:PATH" },
	{ "retry order", "[queue]\nretry_min = 2h\nretry_max = 1h\n",
	  ":3: retry_max: must not be shorter than retry_min" },
};

static void
test_bad_configs(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(bad_cases); i++) {
		const struct bad_case *tc = &bad_cases[i];
		char *path = write_conf("bad.conf", tc->text);
		char *error = NULL;
		struct postierd_settings *set = settings_load(path, &error);
		if (set != NULL)
			fail_msg("row \"%s\": loaded", tc->name);
		size_t plen = strlen(path);
		if (strncmp(error, path, plen) != 0 ||
			strncmp(error + plen, tc->want, strlen(tc->want)) != 0)
			fail_msg("row \"%s\": got \"%s\", want \"%s%s\"", tc->name,
				error, path, tc->want);
		free(error);
		free(path);
	}
}

static void
test_good_config(void **state ATTR_UNUSED)
{
	char *path = write_conf("good.conf",
		"[server]\nthreads = 3\ndata_dir = /tmp/x\n"
		"[listen]\nsmtp = [::1]:2525\nsubmission =\nadmin = 0.0.0.0:9\n"
		"[admin]\ntoken = s3cret\n"
		"[smtp]\nlocal_domains = a.test\nlocal_domains = b.test\n"
		"max_message_size = 10M\n");
	char *error = NULL;
	struct postierd_settings *set = settings_load(path, &error);
	if (set == NULL)
		fail_msg("%s", error);
	assert_int_equal(set->threads, 3);
	assert_string_equal(set->listen_smtp, "[::1]:2525");
	assert_null(set->listen_submission);
	assert_int_equal(set->smtp_local_domains.count, 2);
	assert_int_equal(set->smtp_max_message_size, 10 << 20);

	/* -n output loads back to the same settings */
	struct buf out;
	buf_init(&out);
	settings_print(set, &out);
	char *path2 = write_conf("printed.conf", buf_data(&out));
	struct postierd_settings *set2 = settings_load(path2, &error);
	if (set2 == NULL)
		fail_msg("printed configuration does not load: %s", error);
	struct buf re, rs;
	buf_init(&re);
	buf_init(&rs);
	assert_int_equal(cfg_diff(settings_defs, settings_defs_count, set, set2,
		&re, &rs), 0);
	buf_clear(&re);
	buf_clear(&rs);
	buf_clear(&out);
	settings_unref(&set);
	settings_unref(&set2);
	free(path);
	free(path2);
}

static void
test_parse_listen(void **state ATTR_UNUSED)
{
	static const struct {
		const char *in;
		int ret;
		const char *host;
		int port;
	} cases[] = {
		{ "127.0.0.1:25", 0, "127.0.0.1", 25 },
		{ "localhost:0", 0, "localhost", 0 },
		{ "[::1]:993", 0, "::1", 993 },
		{ "[fe80::1]:65535", 0, "fe80::1", 65535 },
		{ "127.0.0.1", -1, NULL, 0 },
		{ ":25", -1, NULL, 0 },
		{ "host:", -1, NULL, 0 },
		{ "host:65536", -1, NULL, 0 },
		{ "host:-1", -1, NULL, 0 },
		{ "::1:25", -1, NULL, 0 },
		{ "[::1]25", -1, NULL, 0 },
		{ "[::1:25", -1, NULL, 0 },
		{ "host:2x", -1, NULL, 0 },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		char *host = NULL;
		int port = -1;
		int ret = settings_parse_listen(cases[i].in, &host, &port);
		if (ret != cases[i].ret)
			fail_msg("\"%s\": ret %d", cases[i].in, ret);
		if (ret == 0 && (strcmp(host, cases[i].host) != 0 ||
			port != cases[i].port))
			fail_msg("\"%s\": %s %d", cases[i].in, host, port);
		free(host);
	}
	assert_true(settings_is_loopback("127.0.0.1"));
	assert_true(settings_is_loopback("127.1.2.3"));
	assert_true(settings_is_loopback("::1"));
	assert_true(settings_is_loopback("localhost"));
	assert_false(settings_is_loopback("0.0.0.0"));
	assert_false(settings_is_loopback("192.0.2.1"));
}

static void
test_current(void **state ATTR_UNUSED)
{
	char *path = write_conf("cur.conf", "");
	char *error = NULL;
	struct postierd_settings *a = settings_load(path, &error);
	struct postierd_settings *b = settings_load(path, &error);
	assert_non_null(a);
	assert_non_null(b);
	settings_set_current(a);
	assert_ptr_equal(settings_current(), a);
	struct postierd_settings *held = settings_current_ref();
	settings_set_current(b);
	assert_ptr_equal(settings_current(), b);
	/* the old one lives on while referenced */
	assert_string_equal(held->listen_smtp, "127.0.0.1:2525");
	settings_unref(&held);
	settings_deinit();
	assert_null(settings_current());
	free(path);
}

static void
test_keep_restart_keys(void **state ATTR_UNUSED)
{
	char *pa = write_conf("a.conf", "[server]\nthreads = 2\n"
		"data_dir = /tmp/a\n[limits]\nmax_connections = 5\n");
	char *pb = write_conf("b.conf", "[server]\nthreads = 4\n"
		"data_dir = /tmp/b\n[limits]\nmax_connections = 7\n"
		"[listen]\nsmtp =\n");
	char *error = NULL;
	struct postierd_settings *a = settings_load(pa, &error);
	struct postierd_settings *b = settings_load(pb, &error);
	assert_non_null(a);
	assert_non_null(b);
	settings_keep_restart_keys(b, a);
	assert_int_equal(b->threads, 2);
	assert_string_equal(b->data_dir, "/tmp/a");
	assert_string_equal(b->listen_smtp, "127.0.0.1:2525");
	/* reloadable keys take the new value */
	assert_int_equal(b->max_connections, 7);
	settings_unref(&a);
	settings_unref(&b);
	free(pa);
	free(pb);
}

/* Every key appears in docs/configuration.md as "`section.key`". */
static void
test_documented(void **state ATTR_UNUSED)
{
	const char *src = getenv("POSTIER_SOURCE_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/docs/configuration.md",
		src != NULL ? src : ".");
	FILE *f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	struct buf doc;
	buf_init(&doc);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&doc, chunk, n);
	fclose(f);
	int missing = 0;
	for (size_t i = 0; i < settings_defs_count; i++) {
		char needle[128];
		snprintf(needle, sizeof(needle), "`%s.%s`",
			settings_defs[i].section, settings_defs[i].key);
		if (strstr(buf_data(&doc), needle) == NULL) {
			print_error("%s is not documented in docs/configuration.md\n",
				needle);
			missing++;
		}
	}
	buf_clear(&doc);
	assert_int_equal(missing, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_table_sane),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_good_config),
		cmocka_unit_test(test_parse_listen),
		cmocka_unit_test(test_current),
		cmocka_unit_test(test_keep_restart_keys),
		cmocka_unit_test(test_documented),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
