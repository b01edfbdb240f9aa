/* test_maildir.c: Maildir names (Dovecot style, host escaping), Maildir
 * creation, finding an earlier copy, and delivery_run() itself: one file
 * hard-linked on the same file system, copied across file systems (EXDEV,
 * with /dev/shm as the second one when it is one), and "already delivered"
 * on a second run. */
#include "postier.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "delivery.h"
#include "maildir_write.h"
#include "spool.h"

static void
rm_rf(const char *path)
{
	char *cmd = xasprintf("rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void
test_names(void **state ATTR_UNUSED)
{
	static const struct {
		const char *name;
		int64_t time_us;
		long pid;
		uint64_t seq;
		const char *host;
		const char *want;
	} rows[] = {
		{ "plain", 1764000000000001LL, 42, 7, "mx.example.org",
			"1764000000.M000001P42Q7.mx.example.org,S=10,W=12" },
		{ "usec padded", 1764000000123456LL, 1, 0, "h",
			"1764000000.M123456P1Q0.h,S=10,W=12" },
		{ "slash and colon escaped", 5000000LL, 9, 1, "a/b:c",
			"5.M000000P9Q1.a\\057b\\072c,S=10,W=12" },
	};
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		struct buf id, name;
		buf_init(&id);
		buf_init(&name);
		maildir_unique_id(&id, rows[i].time_us, (pid_t)rows[i].pid,
			rows[i].seq);
		maildir_base_name(&name, buf_data(&id), rows[i].host);
		maildir_size_suffix(&name, 10, 12);
		if (strcmp(buf_data(&name), rows[i].want) != 0)
			fail_msg("%s: got %s want %s", rows[i].name,
				buf_data(&name), rows[i].want);
		buf_clear(&id);
		buf_clear(&name);
	}
}

static void
test_ensure_and_find(void **state ATTR_UNUSED)
{
	char dir[] = "/tmp/test_maildir_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *root = xasprintf("%s/a/b/Maildir", dir);
	char *error = NULL;
	assert_int_equal(maildir_ensure(root, &error), 0);
	assert_int_equal(maildir_ensure(root, &error), 0); /* idempotent */
	static const char *const subs[] = { "tmp", "new", "cur" };
	for (size_t i = 0; i < N_ELEMENTS(subs); i++) {
		char *p = xasprintf("%s/%s", root, subs[i]);
		struct stat st;
		assert_int_equal(stat(p, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		free(p);
	}
	assert_int_equal(maildir_has_message(root, "B1,S=1,W=1", "B1"), 0);
	char *cur = xasprintf("%s/cur/B1,S=1,W=1:2,S", root);
	int fd = open(cur, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(maildir_has_message(root, "B1,S=1,W=1", "B1"), 1);
	/* a longer base with the same prefix is another message */
	assert_int_equal(maildir_has_message(root, "B,S=1,W=1", "B"), 0);
	/* a file where a directory should be */
	char *bad = xasprintf("%s/Maildir", cur);
	assert_int_equal(maildir_ensure(bad, &error), -1);
	assert_non_null(error);
	free(error);
	free(bad);
	free(cur);
	free(root);
	rm_rf(dir);
}

/* A spool file with one message for the given Maildirs. */
static int
make_spool(const char *path, const char *const *maildirs, size_t n)
{
	struct buf f;
	buf_init(&f);
	buf_append(&f, SPOOL_MAGIC, SPOOL_MAGIC_LEN);
	spool_append_record(&f, SPOOL_REC_ID, "1764000000.M000001P1Q1", 22);
	spool_append_record(&f, SPOOL_REC_TIME, "1764000000000001", 16);
	spool_append_record(&f, SPOOL_REC_HOST, "mx", 2);
	spool_append_record(&f, SPOOL_REC_FROM, "s@example.net", 13);
	for (size_t i = 0; i < n; i++) {
		struct buf r;
		buf_init(&r);
		buf_printf(&r, "u%zu@example.org", i);
		buf_append_char(&r, '\0');
		buf_append_str(&r, maildirs[i]);
		spool_append_record(&f, SPOOL_REC_RCPT, buf_data(&r), buf_len(&r));
		buf_clear(&r);
	}
	spool_append_record(&f, SPOOL_REC_DATA, "Subject: x\r\n\r\n", 14);
	spool_append_record(&f, SPOOL_REC_DATA, "body\r\n", 6);
	char end[32];
	snprintf(end, sizeof(end), "20 20 %zu", n);
	spool_append_record(&f, SPOOL_REC_END, end, strlen(end));
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf_data(&f), buf_len(&f)),
		(ssize_t)buf_len(&f));
	lseek(fd, 0, SEEK_SET);
	buf_clear(&f);
	return fd;
}

static char *
new_file(const char *root)
{
	return xasprintf("%s/new/1764000000.M000001P1Q1.mx,S=50,W=50", root);
}

static void
test_delivery_links_and_copies(void **state ATTR_UNUSED)
{
	char dir[] = "/tmp/test_maildir_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char shm[] = "/dev/shm/test_maildir_XXXXXX";
	bool have_shm = mkdtemp(shm) != NULL;
	char *a = xasprintf("%s/a/Maildir", dir);
	char *b = xasprintf("%s/b/Maildir", dir);
	char *c = have_shm ? xasprintf("%s/c/Maildir", shm) :
		xasprintf("%s/c/Maildir", dir);
	const char *const roots[] = { a, b, c };
	char *spool = xasprintf("%s/spool", dir);
	int fd = make_spool(spool, roots, 3);
	struct spool_envelope env;
	char *error = NULL;
	assert_int_equal(spool_read_envelope(fd, &env, &error), 1);

	for (int round = 0; round < 2; round++) {
		enum delivery_rcpt_state state[3] = { 0 };
		char *errors[3] = { 0 };
		struct delivery_msg m = {
			.env = &env, .spool_fd = fd, .check_existing = round > 0,
			.state = state, .error = errors,
		};
		delivery_run(&m, 1);
		for (int i = 0; i < 3; i++) {
			enum delivery_rcpt_state want = round == 0 ?
				DELIVERY_RCPT_DONE : DELIVERY_RCPT_ALREADY;
			if (state[i] != want)
				fail_msg("round %d rcpt %d: state %d (%s)", round,
					i, state[i], errors[i] ? errors[i] : "");
		}
		delivery_msg_clear(&m);
	}
	struct stat sa, sb, sc;
	char *pa = new_file(a), *pb = new_file(b), *pc = new_file(c);
	assert_int_equal(stat(pa, &sa), 0);
	assert_int_equal(stat(pb, &sb), 0);
	assert_int_equal(stat(pc, &sc), 0);
	assert_int_equal(sa.st_ino, sb.st_ino);   /* one file, two links */
	assert_int_equal(sa.st_size, 50);
	assert_int_equal(sc.st_size, 50);
	if (have_shm && sc.st_dev != sa.st_dev)
		assert_int_not_equal(sa.st_ino, sc.st_ino); /* copied */
	/* nothing left in tmp/ */
	char *tmpname = xasprintf("%s/tmp/1764000000.M000001P1Q1.mx,S=50,W=50", a);
	assert_int_equal(access(tmpname, F_OK), -1);
	free(tmpname);

	spool_envelope_clear(&env);
	close(fd);
	free(pa);
	free(pb);
	free(pc);
	free(spool);
	free(a);
	free(b);
	free(c);
	rm_rf(dir);
	if (have_shm)
		rm_rf(shm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_ensure_and_find),
		cmocka_unit_test(test_delivery_links_and_copies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
