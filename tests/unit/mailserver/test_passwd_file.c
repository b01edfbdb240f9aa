/* test_passwd_file.c: Dovecot passwd-file lines (table-driven), the
 * incremental reader fed whole and one byte at a time, and the passwd-file
 * directory on top of it (look-up, authentication, domains, reload). */
#include "postier.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "directory.h"
#include "passwd_file.h"
#include "settings.h"

struct line_case {
	const char *name;
	const char *line;
	int want;           /* 1 entry, 0 skipped, -1 malformed */
	const char *user;
	const char *password;
	long long uid, gid;
	const char *home;
	const char *extra;
};

static const struct line_case line_cases[] = {
	{ "dovecot wiki shape", "alice@example.org:{PLAIN}Alice-Secret-1::::::",
		1, "alice@example.org", "{PLAIN}Alice-Secret-1", -1, -1, NULL, NULL },
	{ "full line", "bob@Example.ORG:{SHA512-CRYPT}$6$x$y:1000:1001::/home/bob::userdb_mail=maildir:/m/%n quota=1G",
		1, "bob@example.org", "{SHA512-CRYPT}$6$x$y", 1000, 1001, "/home/bob",
		"userdb_mail=maildir:/m/%n quota=1G" },
	{ "local part case kept", "Bob.Smith@EXAMPLE.org:x", 1,
		"Bob.Smith@example.org", "x", -1, -1, NULL, NULL },
	{ "user and password only", "carol@example.org:{PLAIN}pw", 1,
		"carol@example.org", "{PLAIN}pw", -1, -1, NULL, NULL },
	{ "user only", "dave@example.org", 1, "dave@example.org", "", -1, -1,
		NULL, NULL },
	{ "crypt without prefix", "e@x.org:$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1:5:6",
		1, "e@x.org", "$1$saltstri$YMyguxXMBpd2TEZ.vS/3q1", 5, 6, NULL, NULL },
	{ "uid by name", "f@x.org:pw:root:root::/root", 1, "f@x.org", "pw", 0, 0,
		"/root", NULL },
	{ "CR before LF", "g@x.org:{PLAIN}pw\r", 1, "g@x.org", "{PLAIN}pw", -1,
		-1, NULL, NULL },
	{ "user without domain", "localonly:{PLAIN}pw", 1, "localonly",
		"{PLAIN}pw", -1, -1, NULL, NULL },
	{ "comment", "# a comment", 0, NULL, NULL, 0, 0, NULL, NULL },
	{ "indented comment", "   # x", 0, NULL, NULL, 0, 0, NULL, NULL },
	{ "blank", "", 0, NULL, NULL, 0, 0, NULL, NULL },
	{ "spaces", "  \t ", 0, NULL, NULL, 0, 0, NULL, NULL },
	{ "empty user", ":{PLAIN}x", -1, NULL, NULL, 0, 0, NULL, NULL },
	{ "space in user", "a b@x.org:pw", -1, NULL, NULL, 0, 0, NULL, NULL },
	{ "two ats", "a@b@x.org:pw", -1, NULL, NULL, 0, 0, NULL, NULL },
	{ "empty domain", "a@:pw", -1, NULL, NULL, 0, 0, NULL, NULL },
	{ "empty local part", "@x.org:pw", -1, NULL, NULL, 0, 0, NULL, NULL },
	{ "bad uid", "a@x.org:pw:12x", -1, NULL, NULL, 0, 0, NULL, NULL },
	{ "unknown uid name", "a@x.org:pw:no-such-user-zz", -1, NULL, NULL, 0, 0,
		NULL, NULL },
	{ "huge uid", "a@x.org:pw:99999999999", -1, NULL, NULL, 0, 0, NULL, NULL },
	{ "bad gid", "a@x.org:pw:1:-1", -1, NULL, NULL, 0, 0, NULL, NULL },
	{ "relative home", "a@x.org:pw:1:1::home/a", -1, NULL, NULL, 0, 0, NULL,
		NULL },
};

static void
check_entry(const struct line_case *c, const struct passwd_entry *e)
{
	if (strcmp(e->user, c->user) != 0)
		fail_msg("%s: user %s want %s", c->name, e->user, c->user);
	if (strcmp(e->password, c->password) != 0)
		fail_msg("%s: password %s want %s", c->name, e->password,
			c->password);
	if ((long long)(int)e->uid != c->uid || (long long)(int)e->gid != c->gid)
		fail_msg("%s: uid/gid %d/%d", c->name, (int)e->uid, (int)e->gid);
	if ((e->home == NULL) != (c->home == NULL) ||
	    (c->home != NULL && strcmp(e->home, c->home) != 0))
		fail_msg("%s: home %s", c->name, e->home ? e->home : "(null)");
	if ((e->extra == NULL) != (c->extra == NULL) ||
	    (c->extra != NULL && strcmp(e->extra, c->extra) != 0))
		fail_msg("%s: extra %s", c->name, e->extra ? e->extra : "(null)");
}

static void
test_lines(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(line_cases); i++) {
		const struct line_case *c = &line_cases[i];
		struct passwd_entry e;
		const char *error = NULL;
		int r = passwd_file_parse_line(c->line, strlen(c->line), &e,
			&error);
		if (r != c->want)
			fail_msg("%s: got %d want %d (%s)", c->name, r, c->want,
				error != NULL ? error : "");
		if (r > 0)
			check_entry(c, &e);
		passwd_entry_clear(&e);
	}
}

/* All table lines as one file; fed whole and byte by byte, the reader must
 * give the same entries and errors in the same order. */
static void
run_reader(const char *data, size_t len, size_t step, struct buf *log)
{
	struct passwd_reader r;
	passwd_reader_init(&r);
	size_t pos = 0;
	for (;;) {
		struct passwd_entry e;
		unsigned line;
		const char *error;
		int ret = passwd_reader_next(&r, &e, &line, &error);
		if (ret > 0) {
			buf_printf(log, "%u:%s|", line, e.user);
			passwd_entry_clear(&e);
			continue;
		}
		if (ret < 0) {
			buf_printf(log, "%u:ERR|", line);
			continue;
		}
		if (pos == len) {
			if (r.finished)
				break;
			passwd_reader_finish(&r);
			continue;
		}
		size_t n = step == 0 || len - pos < step ? len - pos : step;
		passwd_reader_feed(&r, data + pos, n);
		pos += n;
	}
	passwd_reader_clear(&r);
}

static void
test_reader_whole_and_bytewise(void **state ATTR_UNUSED)
{
	struct buf file, want;
	buf_init(&file);
	buf_init(&want);
	for (size_t i = 0; i < N_ELEMENTS(line_cases); i++) {
		buf_append_str(&file, line_cases[i].line);
		buf_append_char(&file, '\n');
		if (line_cases[i].want > 0)
			buf_printf(&want, "%zu:%s|", i + 1, line_cases[i].user);
		else if (line_cases[i].want < 0)
			buf_printf(&want, "%zu:ERR|", i + 1);
	}
	/* a last line without LF, then an over-long line */
	buf_append_str(&file, "last@x.org:pw");
	buf_printf(&want, "%zu:last@x.org|", N_ELEMENTS(line_cases) + 1);

	struct buf whole, bytes;
	buf_init(&whole);
	buf_init(&bytes);
	run_reader(buf_data(&file), buf_len(&file), 0, &whole);
	run_reader(buf_data(&file), buf_len(&file), 1, &bytes);
	assert_string_equal(buf_data(&whole), buf_data(&want));
	assert_string_equal(buf_data(&bytes), buf_data(&want));

	/* a line longer than the limit is one error, memory stays bounded,
	 * and the next line is read normally */
	struct buf big, got;
	buf_init(&big);
	buf_init(&got);
	buf_append_str(&big, "a@x.org:");
	for (int i = 0; i < PASSWD_FILE_MAX_LINE_BYTES * 2; i++)
		buf_append_char(&big, 'p');
	buf_append_str(&big, "\nb@x.org:pw\n");
	run_reader(buf_data(&big), buf_len(&big), 7, &got);
	assert_string_equal(buf_data(&got), "1:ERR|2:b@x.org|");
	buf_clear(&big);
	buf_clear(&got);
	buf_clear(&file);
	buf_clear(&want);
	buf_clear(&whole);
	buf_clear(&bytes);
}

static char tmpdir[64];

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_directory(void **state ATTR_UNUSED)
{
	strcpy(tmpdir, "/tmp/test_passwd_XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	char *path = xasprintf("%s/passwd", tmpdir);
	write_file(path,
		"# users\n"
		"alice@Example.org:{PLAIN}Alice-Secret-1::::::\n"
		"bob@example.org:{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1:1000:1000::/home/bob::\n"
		"carol@other.test:{PLAIN}c::::::userdb_mail=maildir:/special/%n\n"
		"nopw@example.org:::::::\n"
		"broken@example.org:{SSHA}xyz::::::\n");
	struct postierd_settings set;
	memset(&set, 0, sizeof(set));
	set.directory_passwd_file = path;
	set.data_dir = tmpdir;
	char *extra_domain = "Extra.TEST";
	set.smtp_local_domains.items = &extra_domain;
	set.smtp_local_domains.count = 1;
	char *error = NULL;
	if (directory_init(&set, &error) < 0)
		fail_msg("directory_init: %s", error);

	struct directory_user *u = NULL;
	assert_int_equal(directory_lookup("alice@EXAMPLE.ORG", &u),
		DIRECTORY_FOUND);
	assert_string_equal(u->address, "alice@example.org");
	char *want = xasprintf("%s/mail/example.org/alice/Maildir", tmpdir);
	assert_string_equal(u->maildir, want);
	free(want);
	directory_user_free(&u);
	assert_null(u);
	assert_int_equal(directory_lookup("ALICE@example.org", &u),
		DIRECTORY_NOT_FOUND);
	assert_int_equal(directory_lookup("nobody@example.org", &u),
		DIRECTORY_NOT_FOUND);
	assert_int_equal(directory_lookup("carol@other.test", &u),
		DIRECTORY_FOUND);
	assert_string_equal(u->maildir, "/special/carol");
	directory_user_free(&u);

	assert_int_equal(directory_authenticate("alice@example.org",
		"Alice-Secret-1", &u), DIRECTORY_FOUND);
	directory_user_free(&u);
	assert_int_equal(directory_authenticate("alice@example.org", "x", &u),
		DIRECTORY_NOT_FOUND);
	assert_null(u);
	assert_int_equal(directory_authenticate("bob@example.org",
		"Hello world!", &u), DIRECTORY_FOUND);
	assert_int_equal((int)u->uid, 1000);
	assert_string_equal(u->home, "/home/bob");
	directory_user_free(&u);
	assert_int_equal(directory_authenticate("nopw@example.org", "", &u),
		DIRECTORY_NOT_FOUND);
	assert_int_equal(directory_authenticate("broken@example.org", "xyz",
		&u), DIRECTORY_NOT_FOUND);
	assert_int_equal(directory_authenticate("ghost@example.org", "x", &u),
		DIRECTORY_NOT_FOUND);

	assert_int_equal(directory_is_local_domain("EXAMPLE.org"),
		DIRECTORY_FOUND);
	assert_int_equal(directory_is_local_domain("other.test"),
		DIRECTORY_FOUND);
	assert_int_equal(directory_is_local_domain("extra.test"),
		DIRECTORY_FOUND);
	assert_int_equal(directory_is_local_domain("example.com"),
		DIRECTORY_NOT_FOUND);

	/* a reload that fails keeps the old table */
	write_file(path, "x@y.org:pw\nbad line with space:pw\n");
	assert_int_equal(directory_reload(&set, &error), -1);
	assert_non_null(strstr(error, ":2:"));
	free(error);
	error = NULL;
	assert_int_equal(directory_lookup("alice@example.org", &u),
		DIRECTORY_FOUND);
	directory_user_free(&u);
	/* duplicates are refused */
	write_file(path, "x@y.org:pw\nx@Y.org:pw2\n");
	assert_int_equal(directory_reload(&set, &error), -1);
	free(error);
	error = NULL;
	/* a good reload replaces it */
	write_file(path, "x@y.org:{PLAIN}pw\n");
	assert_int_equal(directory_reload(&set, &error), 0);
	assert_int_equal(directory_lookup("alice@example.org", &u),
		DIRECTORY_NOT_FOUND);
	assert_int_equal(directory_lookup("x@y.org", &u), DIRECTORY_FOUND);
	directory_user_free(&u);

	directory_deinit();
	assert_int_equal(directory_lookup("x@y.org", &u), DIRECTORY_ERROR);
	unlink(path);
	rmdir(tmpdir);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_reader_whole_and_bytewise),
		cmocka_unit_test(test_directory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
