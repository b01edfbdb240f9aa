/* test_queue.c: the durable queue end to end without a network: commit ->
 * group commit -> delivery into Maildirs (one file, hard links), recovery of
 * complete and incomplete spool files, and duplicate detection when an
 * entry that was already delivered comes back after a "crash". */
#include "postier.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/metric.h"
#include "core/xmalloc.h"
#include "directory.h"
#include "queue.h"
#include "settings.h"
#include "spool.h"

static char tmpdir[64];
static struct postierd_settings set;

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int done_count;
static int done_status;
static char done_id[128];

static void
commit_done(struct conn *c, int status, const char *queue_id, void *context)
{
	assert_null(c);
	assert_ptr_equal(context, &set);
	assert_non_null(queue_id);
	/* "<sec>.M<usec>P<pid>Q<seq>" */
	assert_non_null(strstr(queue_id, ".M"));
	pthread_mutex_lock(&done_lock);
	done_count++;
	done_status = status;
	snprintf(done_id, sizeof(done_id), "%s", queue_id);
	pthread_cond_signal(&done_cond);
	pthread_mutex_unlock(&done_lock);
}

static void
wait_committed(int n)
{
	pthread_mutex_lock(&done_lock);
	while (done_count < n)
		pthread_cond_wait(&done_cond, &done_lock);
	pthread_mutex_unlock(&done_lock);
}

/* Waits until the queue is empty (bounded: 10 s). */
static void
wait_empty(void)
{
	for (int i = 0; i < 1000; i++) {
		long long n;
		double age;
		queue_stats(&n, &age);
		if (n == 0)
			return;
		usleep(10000);
	}
	fail_msg("queue did not empty");
}

static int
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

/* The single file in dir (heap path) or NULL. */
static char *
only_file(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return NULL;
	char *path = NULL;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		assert_null(path);
		path = xasprintf("%s/%s", dir, de->d_name);
	}
	closedir(d);
	return path;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	struct buf b;
	buf_init(&b);
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	return buf_steal(&b);
}

static void
rm_rf(const char *path)
{
	char *cmd = xasprintf("rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static bool lock_dir(const char *dir, bool lock);

static int
setup(void **state ATTR_UNUSED)
{
	strcpy(tmpdir, "/tmp/test_queue_XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	memset(&set, 0, sizeof(set));
	set.data_dir = tmpdir;
	set.hostname = "mx.example.org";
	set.queue_commit_max_batch = 8;
	set.queue_delivery_workers = 2;
	set.queue_retry_min_ms = 50;
	set.queue_retry_max_ms = 100;
	set.queue_max_lifetime_ms = 3600000;
	metric_reset_all();
	done_count = 0;
	return 0;
}

static int
teardown(void **state ATTR_UNUSED)
{
	char *locked = xasprintf("%s/locked", tmpdir);
	(void)lock_dir(locked, false);
	free(locked);
	rm_rf(tmpdir);
	return 0;
}

static const char body[] =
	"Subject: test\r\nMessage-ID: <t1@example.net>\r\n\r\nline one\r\n"
	"bare lf\nend\r\n";

static void
test_commit_and_deliver(void **state ATTR_UNUSED)
{
	char *error = NULL;
	if (queue_init(&set, &error) < 0)
		fail_msg("queue_init: %s", error);
	char *alice = xasprintf("%s/mail/alice/Maildir", tmpdir);
	char *bob = xasprintf("%s/mail/bob/Maildir", tmpdir);
	const int messages = 20;
	for (int i = 0; i < messages; i++) {
		struct queue_txn_info info = {
			.return_path = "sender@example.net", .helo = "c.example",
			.client_ip = "192.0.2.1", .sid = "0000000000000001",
		};
		struct queue_txn *txn = queue_txn_begin(&info, &error);
		assert_non_null(txn);
		queue_txn_add_rcpt(txn, "alice@example.org", alice);
		queue_txn_add_rcpt(txn, "bob@example.org", bob);
		/* written in odd pieces, and one large enough for several D
		 * records in the last message */
		for (size_t k = 0; k < sizeof(body) - 1; k += 7) {
			size_t n = sizeof(body) - 1 - k < 7 ?
				sizeof(body) - 1 - k : 7;
			assert_int_equal(queue_txn_write(txn, body + k, n), 0);
		}
		if (i == messages - 1) {
			char *big = xmalloc(200000);
			memset(big, 'x', 200000);
			for (int k = 0; k < 200000; k += 1000)
				big[k] = '\n';
			assert_int_equal(queue_txn_write(txn, big, 200000), 0);
			free(big);
		}
		queue_txn_commit(txn, NULL, commit_done, &set);
	}
	wait_committed(messages);
	assert_int_equal(done_status, 0);
	wait_empty();
	assert_true(metric_value(METRIC_FSYNC_BATCHES) >= 3); /* batch of 8 */
	assert_int_equal(metric_hist_count(METRIC_FSYNC_BATCH_SIZE),
		metric_value(METRIC_FSYNC_BATCHES));
	assert_int_equal(metric_value(METRIC_DELIVERED_MESSAGES), 2 * messages);
	assert_int_equal(metric_value(METRIC_DELIVERY_DUPLICATES), 0);

	char *anew = xasprintf("%s/new", alice);
	char *bnew = xasprintf("%s/new", bob);
	assert_int_equal(count_files(anew), messages);
	assert_int_equal(count_files(bnew), messages);
	char *atmp = xasprintf("%s/tmp", alice);
	assert_int_equal(count_files(atmp), 0);
	/* the queue is empty on disk too */
	char *active = xasprintf("%s/queue/active", tmpdir);
	assert_int_equal(count_files(active), 0);

	/* the message with done_id: same inode in both Maildirs, name with
	 * S= (size on disk) and W= (CRLF size), Return-Path first */
	queue_deinit();
	DIR *d = opendir(anew);
	struct dirent *de;
	int checked = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char *ap = xasprintf("%s/%s", anew, de->d_name);
		char *bp = xasprintf("%s/%s", bnew, de->d_name);
		struct stat ast, bst;
		assert_int_equal(stat(ap, &ast), 0);
		assert_int_equal(stat(bp, &bst), 0);
		assert_int_equal(ast.st_ino, bst.st_ino);
		assert_int_equal(ast.st_nlink, 2);
		char *want = xasprintf(",S=%lld,", (long long)ast.st_size);
		assert_non_null(strstr(de->d_name, want));
		assert_non_null(strstr(de->d_name, ".mx.example.org,S="));
		free(want);
		if (ast.st_size < 1000) {
			char *text = slurp(ap);
			const char *rp = "Return-Path: <sender@example.net>\r\n";
			assert_memory_equal(text, rp, strlen(rp));
			assert_string_equal(text + strlen(rp), body);
			/* one bare LF: W = S + 1 */
			want = xasprintf(",W=%lld", (long long)ast.st_size + 1);
			assert_non_null(strstr(de->d_name, want));
			free(want);
			free(text);
		}
		checked++;
		free(ap);
		free(bp);
	}
	closedir(d);
	assert_int_equal(checked, messages);
	free(anew);
	free(bnew);
	free(atmp);
	free(active);
	free(alice);
	free(bob);
}

/* Writes a spool file by hand. */
static void
write_spool(const char *path, const char *id, const char *maildir,
	bool complete)
{
	struct buf f;
	buf_init(&f);
	buf_append(&f, SPOOL_MAGIC, SPOOL_MAGIC_LEN);
	spool_append_record(&f, SPOOL_REC_ID, id, strlen(id));
	spool_append_record(&f, SPOOL_REC_TIME, "1764000000000001", 16);
	spool_append_record(&f, SPOOL_REC_HOST, "mx", 2);
	spool_append_record(&f, SPOOL_REC_FROM, "", 0);
	struct buf r;
	buf_init(&r);
	buf_append_str(&r, "carol@example.org");
	buf_append_char(&r, '\0');
	buf_append_str(&r, maildir);
	spool_append_record(&f, SPOOL_REC_RCPT, buf_data(&r), buf_len(&r));
	spool_append_record(&f, SPOOL_REC_DATA, "Subject: r\r\n\r\nx\r\n", 17);
	if (complete)
		spool_append_record(&f, SPOOL_REC_END, "17 17 1", 7);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf_data(&f), buf_len(&f)),
		(ssize_t)buf_len(&f));
	close(fd);
	buf_clear(&r);
	buf_clear(&f);
}

static void
test_recovery_and_duplicates(void **state ATTR_UNUSED)
{
	char *error = NULL;
	char *carol = xasprintf("%s/mail/carol/Maildir", tmpdir);
	char *spool = xasprintf("%s/queue", tmpdir);
	char *active = xasprintf("%s/queue/active", tmpdir);
	char *qtmp = xasprintf("%s/queue/tmp", tmpdir);
	/* start once to create the directories */
	assert_int_equal(queue_init(&set, &error), 0);
	queue_deinit();

	char *p1 = xasprintf("%s/1764000000.M000001P1Q1", active);
	char *p2 = xasprintf("%s/1764000000.M000001P1Q2", active);
	char *p3 = xasprintf("%s/1764000000.M000001P1Q3", qtmp);
	write_spool(p1, "1764000000.M000001P1Q1", carol, true);
	write_spool(p2, "1764000000.M000001P1Q2", carol, false); /* corrupt */
	write_spool(p3, "1764000000.M000001P1Q3", carol, false); /* never acked */
	assert_int_equal(queue_init(&set, &error), 0);
	wait_empty();
	queue_deinit();
	char *cnew = xasprintf("%s/new", carol);
	assert_int_equal(count_files(cnew), 1);
	assert_int_equal(count_files(active), 0);
	assert_int_equal(count_files(qtmp), 0);
	char *corrupt = xasprintf("%s/corrupt", spool);
	assert_int_equal(count_files(corrupt), 1);
	assert_int_equal(metric_value(METRIC_DELIVERY_DUPLICATES), 0);
	char *delivered = only_file(cnew);
	assert_non_null(strstr(delivered, "/1764000000.M000001P1Q1.mx,S=34,W=34"));
	char *text = slurp(delivered);
	assert_string_equal(text, "Return-Path: <>\r\nSubject: r\r\n\r\nx\r\n");
	free(text);

	/* "crash" after delivery, before the entry was retired: the same
	 * entry comes back and must not be delivered twice */
	write_spool(p1, "1764000000.M000001P1Q1", carol, true);
	assert_int_equal(queue_init(&set, &error), 0);
	wait_empty();
	queue_deinit();
	assert_int_equal(count_files(cnew), 1);
	assert_int_equal(metric_value(METRIC_DELIVERY_DUPLICATES), 1);

	/* ... also when a reader has moved it to cur/ with flags */
	char *cur = xasprintf("%s/cur/%s:2,S", carol, strrchr(delivered, '/') + 1);
	assert_int_equal(rename(delivered, cur), 0);
	write_spool(p1, "1764000000.M000001P1Q1", carol, true);
	assert_int_equal(queue_init(&set, &error), 0);
	wait_empty();
	queue_deinit();
	assert_int_equal(count_files(cnew), 0);
	assert_int_equal(metric_value(METRIC_DELIVERY_DUPLICATES), 2);

	free(cur);
	free(delivered);
	free(corrupt);
	free(cnew);
	free(p1);
	free(p2);
	free(p3);
	free(qtmp);
	free(active);
	free(spool);
	free(carol);
}

static void
test_failures(void **state ATTR_UNUSED)
{
	char *error = NULL;
	assert_int_equal(queue_init(&set, &error), 0);
	/* a Maildir path under a regular file: permanent (ENOTDIR) */
	char *file = xasprintf("%s/plainfile", tmpdir);
	FILE *f = fopen(file, "w");
	fclose(f);
	char *bad = xasprintf("%s/Maildir", file);
	char *good = xasprintf("%s/mail/dave/Maildir", tmpdir);
	/* the sender is local: the bounce goes to its Maildir */
	char *pw = xasprintf("%s/passwd", tmpdir);
	f = fopen(pw, "w");
	fputs("x@example.net:{PLAIN}x\n", f);
	fclose(f);
	set.directory_passwd_file = pw;
	assert_int_equal(directory_init(&set, &error), 0);
	struct queue_txn_info info = { .return_path = "x@example.net" };
	struct queue_txn *txn = queue_txn_begin(&info, &error);
	queue_txn_add_rcpt(txn, "bad@example.org", bad);
	queue_txn_add_rcpt(txn, "dave@example.org", good);
	assert_int_equal(queue_txn_write(txn, "a\r\n", 3), 0);
	assert_int_equal(queue_txn_size(txn), 3);
	queue_txn_commit(txn, NULL, commit_done, &set);
	wait_committed(1);
	wait_empty();
	assert_int_equal(metric_value(METRIC_DELIVERY_PERMFAIL), 1);
	/* dave's copy and the DSN (queued by the worker, delivered after) */
	for (int i = 0; i < 500 &&
	     metric_value(METRIC_DELIVERED_MESSAGES) < 2; i++)
		usleep(10000);
	wait_empty();
	assert_int_equal(metric_value(METRIC_DELIVERED_MESSAGES), 2);
	char *xnew = xasprintf("%s/mail/example.net/x/Maildir/new", tmpdir);
	char *dsn = only_file(xnew);
	assert_non_null(dsn);
	char *text = slurp(dsn);
	assert_non_null(strstr(text, "Return-Path: <>\r\n"));
	assert_non_null(strstr(text, "report-type=delivery-status"));
	assert_non_null(strstr(text, "Final-Recipient: rfc822; bad@example.org"));
	assert_null(strstr(text, "Final-Recipient: rfc822; dave@example.org"));
	assert_non_null(strstr(text, "Action: failed"));
	free(text);
	free(dsn);
	free(xnew);
	directory_deinit();
	free(pw);

	/* no recipient: the commit fails (451), nothing is queued */
	txn = queue_txn_begin(&info, &error);
	queue_txn_commit(txn, NULL, commit_done, &set);
	wait_committed(2);
	assert_int_equal(done_status, -1);

	/* an aborted transaction leaves nothing behind */
	txn = queue_txn_begin(&info, &error);
	queue_txn_add_rcpt(txn, "dave@example.org", good);
	queue_txn_write(txn, "abc", 3);
	queue_txn_abort(&txn);
	assert_null(txn);
	char *qtmp = xasprintf("%s/queue/tmp", tmpdir);
	assert_int_equal(count_files(qtmp), 0);

	assert_true(queue_is_healthy(&error));
	queue_deinit();
	assert_false(queue_is_healthy(&error));
	free(error);
	free(qtmp);
	free(file);
	free(bad);
	free(good);
}

/* Makes dir refuse new entries: chmod for a normal user, the immutable
 * flag for root (which ignores modes). Returns false when neither works. */
static bool
lock_dir(const char *dir, bool lock)
{
	if (geteuid() != 0)
		return chmod(dir, lock ? 0500 : 0700) == 0;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return false;
	int flags = 0;
	bool ok = ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
	if (ok) {
		flags = lock ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
		ok = ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
	}
	close(fd);
	return ok;
}

static void
test_retry(void **state ATTR_UNUSED)
{
	char *locked = xasprintf("%s/locked", tmpdir);
	assert_int_equal(mkdir(locked, 0700), 0);
	if (!lock_dir(locked, true)) {
		free(locked);
		skip();
	}
	char *error = NULL;
	assert_int_equal(queue_init(&set, &error), 0);
	char *maildir = xasprintf("%s/erin/Maildir", locked);
	struct queue_txn_info info = { .return_path = "x@remote.example" };
	struct queue_txn *txn = queue_txn_begin(&info, &error);
	queue_txn_add_rcpt(txn, "erin@example.org", maildir);
	assert_int_equal(queue_txn_write(txn, "a\r\n", 3), 0);
	queue_txn_commit(txn, NULL, commit_done, &set);
	wait_committed(1);
	/* deferred (temporary), retried with backoff, still queued */
	for (int i = 0; i < 500 &&
	     metric_value(METRIC_DELIVERY_TEMPFAIL) < 2; i++)
		usleep(10000);
	lock_dir(locked, false);
	assert_true(metric_value(METRIC_DELIVERY_TEMPFAIL) >= 2);
	long long n;
	double age;
	queue_stats(&n, &age);
	assert_true(n <= 1);
	wait_empty();
	assert_int_equal(metric_value(METRIC_DELIVERED_MESSAGES), 1);
	assert_int_equal(metric_value(METRIC_DELIVERY_PERMFAIL), 0);
	queue_deinit();
	free(maildir);
	free(locked);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_and_deliver, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_recovery_and_duplicates,
			setup, teardown),
		cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
