/* test_mailbox_maildir.c: the mailbox layer on Maildir trees built here the
 * way Dovecot 2.3 leaves them (uidlist v3 with a stale N, flags in names,
 * dovecot-keywords, subscriptions with TAB separators). */
#include "postier.h"

#include <stdarg.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "mailbox.h"
#include "mailbox_list.h"
#include "mailbox_uidlist.h"

static char root[256];

static void
write_file(const char *rel, const char *text)
{
	char *path = xasprintf("%s/%s", root, rel);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		fail_msg("fopen %s", path);
	fputs(text, f);
	fclose(f);
	free(path);
}

static char *
read_file(const char *rel)
{
	char *path = xasprintf("%s/%s", root, rel);
	FILE *f = fopen(path, "r");
	free(path);
	if (f == NULL)
		return NULL;
	struct buf b;
	buf_init(&b);
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	return buf_steal(&b);
}

static bool
exists(const char *rel)
{
	char *path = xasprintf("%s/%s", root, rel);
	bool ok = access(path, F_OK) == 0;
	free(path);
	return ok;
}

static void
mkdirs(const char *folder)
{
	static const char *const subs[] = { "", "/tmp", "/new", "/cur" };
	for (size_t i = 0; i < N_ELEMENTS(subs); i++) {
		char *p = xasprintf("%s/%s%s", root, folder, subs[i]);
		mkdir(p, 0700);
		free(p);
	}
}

static const char msg1[] = "From: a@example.org\nSubject: one\n\nbody one\n";
static const char msg2[] = "From: b@example.org\r\nSubject: two\r\n\r\nbody\r\n";

static int
setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/test-mailbox-XXXXXX");
	if (mkdtemp(root) == NULL)
		return -1;
	mkdirs("");
	mkdirs(".Sent");
	mkdirs(".Archive");
	mkdirs(".Archive.2024");
	/* a Dovecot INBOX: UIDs 3 and 7 (gap), N stale, one unlisted */
	write_file("dovecot-uidlist",
		"3 V1700000000 N1 G0123456789abcdef0123456789abcdef\n"
		"3 :1700000001.M1P1.host,S=43,W=47\n"
		"7 W44 :1700000002.M2P2.host\n"
		"5 :1700000000.M0P0.gone\n");
	write_file("cur/1700000001.M1P1.host,S=43,W=47:2,RSa", msg1);
	write_file("cur/1700000002.M2P2.host:2,T", msg2);
	write_file("new/1700000003.M3P3.host", msg1);
	write_file("dovecot-keywords", "0 $Forwarded\n1 Work\n");
	write_file("subscriptions", "V\t2\n\nSent\nArchive\t2024\nGone\n");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	char *cmd = xasprintf("rm -rf '%s'", root);
	if (system(cmd) != 0)
		fail_msg("rm failed");
	free(cmd);
	return 0;
}

static void
test_open_dovecot_tree(void **state)
{
	(void)state;
	struct mailbox *box;
	char *error = NULL;
	assert_int_equal(mailbox_open(root, "inbox", false, &box, &error), 1);
	assert_int_equal(box->uidvalidity, 1700000000u);
	assert_int_equal(box->count, 3);
	assert_int_equal(box->msgs[0].uid, 3);
	assert_int_equal(box->msgs[1].uid, 7);
	/* the new message: max(N=1, 7+1) = 8, moved to cur/ with \Recent */
	assert_int_equal(box->msgs[2].uid, 8);
	assert_int_equal(box->uidnext, 9);
	assert_true(exists("cur/1700000003.M3P3.host:2,"));
	assert_false(exists("new/1700000003.M3P3.host"));
	assert_true((box->msgs[2].flags & MAILBOX_FLAG_RECENT) != 0);
	assert_int_equal(box->msgs[0].flags,
		MAILBOX_FLAG_ANSWERED | MAILBOX_FLAG_SEEN);
	assert_int_equal(box->msgs[0].keywords, 1);
	assert_int_equal(box->msgs[1].flags, MAILBOX_FLAG_DELETED);
	struct buf f;
	buf_init(&f);
	mailbox_flags_append(box, box->msgs[0].flags, box->msgs[0].keywords,
		&f);
	assert_string_equal(buf_data(&f), "\\Answered \\Seen $Forwarded");
	buf_clear(&f);
	uint64_t v;
	assert_int_equal(mailbox_msg_vsize(box, 0, &v), 0);
	assert_int_equal(v, 47);                 /* from W= */
	assert_int_equal(mailbox_msg_vsize(box, 2, &v), 0);
	assert_int_equal(v, sizeof(msg1) - 1 + 4); /* 4 bare LFs */
	assert_int_equal(mailbox_msg_vsize(box, 1, &v), 0);
	assert_int_equal(v, sizeof(msg2) - 1);
	/* the uidlist was rewritten in Dovecot's format, header first */
	char *ul = read_file("dovecot-uidlist");
	assert_non_null(strstr(ul, "3 V1700000000 N9 G0123456789abcdef"));
	assert_non_null(strstr(ul, "\n7 W44 :1700000002.M2P2.host\n"));
	assert_non_null(strstr(ul, "\n8 :1700000003.M3P3.host\n"));
	assert_false(exists("dovecot-uidlist.lock"));
	free(ul);
	mailbox_free(&box);

	/* a second session sees the same UIDs; nothing is \Recent now */
	assert_int_equal(mailbox_open(root, "INBOX", true, &box, &error), 1);
	assert_int_equal(box->count, 3);
	assert_int_equal(box->msgs[2].uid, 8);
	assert_int_equal(box->msgs[2].flags & MAILBOX_FLAG_RECENT, 0);
	mailbox_free(&box);
}

static void
test_flags_expunge_sync(void **state)
{
	(void)state;
	struct mailbox *a, *b;
	char *error = NULL;
	assert_int_equal(mailbox_open(root, "INBOX", false, &a, &error), 1);
	assert_int_equal(mailbox_open(root, "INBOX", false, &b, &error), 1);
	int work = mailbox_keyword_index(a, "Work", false);
	assert_int_equal(work, 1);
	int junk = mailbox_keyword_index(a, "$Junk", true);
	assert_int_equal(junk, 2);
	char *kw = read_file("dovecot-keywords");
	assert_string_equal(kw, "0 $Forwarded\n1 Work\n2 $Junk\n");
	free(kw);
	assert_int_equal(mailbox_set_flags(a, 2, MAILBOX_FLAG_SEEN |
		MAILBOX_FLAG_FLAGGED, 1u << junk, &error), 1);
	assert_true(exists("cur/1700000003.M3P3.host:2,FSc"));
	assert_int_equal(mailbox_expunge(a, 1, &error), 0);

	/* session b notices: one expunge (seq 2), flags of the third */
	struct mailbox_changes ch;
	assert_int_equal(mailbox_sync(b, &ch, &error), 0);
	assert_int_equal(ch.n_expunged, 1);
	assert_int_equal(ch.expunged[0], 2);
	assert_int_equal(ch.n_flag_changed, 1);
	assert_int_equal(ch.flag_changed[0], 2);
	assert_true(ch.keywords_changed);
	assert_int_equal(b->count, 2);
	assert_int_equal(b->msgs[1].uid, 8);
	assert_int_equal(b->msgs[1].flags & MAILBOX_FLAGS_STORED,
		MAILBOX_FLAG_SEEN | MAILBOX_FLAG_FLAGGED);
	mailbox_changes_clear(&ch);

	/* a delivery (as the store writes it) appears with the next UID */
	write_file("new/1800000000.M9P9Q1.host,S=10,W=10", "x\r\ny\r\n\r\nz\r\n");
	assert_int_equal(mailbox_sync(b, &ch, &error), 0);
	assert_int_equal(ch.n_expunged, 0);
	assert_int_equal(b->count, 3);
	assert_int_equal(b->msgs[2].uid, 9);
	mailbox_changes_clear(&ch);
	assert_int_equal(mailbox_sync(a, &ch, &error), 0);
	assert_int_equal(a->count, 3);
	assert_int_equal(a->msgs[2].uid, 9);
	mailbox_changes_clear(&ch);
	mailbox_free(&a);
	mailbox_free(&b);
}

static void
test_append_copy(void **state)
{
	(void)state;
	char *error = NULL;
	uint32_t validity, uid;
	const char *kws[] = { "Work" };
	assert_int_equal(mailbox_append(root, "Sent", msg1, sizeof(msg1) - 1,
		MAILBOX_FLAG_SEEN, kws, 1, 1500000000, &validity, &uid,
		&error), 1);
	assert_int_equal(uid, 1);
	/* no uidlist before: one was created with a time-based UIDVALIDITY */
	assert_true(validity > 1700000000u);
	assert_int_equal(mailbox_append(root, "Nope", msg1, 3, 0, NULL, 0, 0,
		&validity, &uid, &error), 0);
	struct mailbox *box;
	assert_int_equal(mailbox_open(root, "Sent", false, &box, &error), 1);
	assert_int_equal(box->count, 1);
	assert_int_equal(box->msgs[0].flags, MAILBOX_FLAG_SEEN);
	time_t t;
	assert_int_equal(mailbox_msg_mtime(box, 0, &t), 0);
	assert_int_equal((long long)t, 1500000000LL);
	struct buf body;
	buf_init(&body);
	assert_int_equal(mailbox_msg_read(box, 0, &body), 1);
	assert_string_equal(buf_data(&body), msg1);
	buf_clear(&body);
	uint32_t v2, uid2;
	assert_int_equal(mailbox_copy(box, 0, "Archive.2024", &v2, &uid2,
		&error), 1);
	assert_int_equal(uid2, 1);
	assert_int_equal(mailbox_copy(box, 0, "Archive.2024", &v2, &uid2,
		&error), 1);
	assert_int_equal(uid2, 2);
	mailbox_free(&box);
	assert_int_equal(mailbox_open(root, "Archive.2024", true, &box,
		&error), 1);
	assert_int_equal(box->count, 2);
	assert_int_equal(box->uidvalidity, v2);
	assert_int_equal(mailbox_keyword_index(box, "Work", false), 0);
	assert_int_equal(box->msgs[1].keywords, 1);
	mailbox_free(&box);
}

static void
test_lock_held(void **state)
{
	(void)state;
	char *error = NULL;
	int fd = uidlist_lock(root, 100, &error);
	assert_true(fd >= 0);
	int fd2 = uidlist_lock(root, 50, &error);
	assert_int_equal(fd2, -1);
	assert_non_null(strstr(error, "held by another process"));
	free(error);
	error = NULL;
	/* a sync that needs a UID cannot proceed while the lock is held */
	write_file("new/1900000000.M1P1.host", "a\n");
	struct mailbox *box = NULL;
	uidlist_unlock(root, fd);
	assert_int_equal(mailbox_open(root, "INBOX", false, &box, &error), 1);
	assert_int_equal(box->msgs[box->count - 1].uid, 10);
	mailbox_free(&box);
	/* a stale lock (untouched for > 2 min) is broken */
	write_file("dovecot-uidlist.lock", "");
	char *lock = xasprintf("%s/dovecot-uidlist.lock", root);
	struct timespec old[2] = { { time(NULL) - 600, 0 },
		{ time(NULL) - 600, 0 } };
	utimensat(AT_FDCWD, lock, old, 0);
	free(lock);
	fd = uidlist_lock(root, 50, &error);
	assert_true(fd >= 0);
	uidlist_unlock(root, fd);
}

static void
test_folders_subscriptions(void **state)
{
	(void)state;
	char *error = NULL;
	struct mailbox_names l;
	assert_int_equal(mailbox_list_folders(root, &l, &error), 0);
	assert_int_equal(l.count, 4);
	assert_string_equal(l.names[0], "INBOX");
	assert_string_equal(l.names[1], "Archive");
	assert_string_equal(l.names[2], "Archive.2024");
	assert_string_equal(l.names[3], "Sent");
	assert_true(mailbox_list_has_children(&l, "Archive"));
	assert_false(mailbox_list_has_children(&l, "Sent"));
	mailbox_names_clear(&l);
	assert_int_equal(mailbox_list_create(root, "Drafts", &error), 0);
	assert_true(exists(".Drafts/cur"));
	assert_true(exists(".Drafts/maildirfolder"));
	assert_int_equal(mailbox_list_create(root, "Drafts", &error), -1);
	free(error);
	error = NULL;
	assert_int_equal(mailbox_list_create(root, "../evil", &error), -1);
	free(error);
	error = NULL;
	assert_int_equal(mailbox_list_delete(root, "Archive", &error), -1);
	assert_string_equal(error, "Mailbox has children, delete them first");
	free(error);
	error = NULL;
	assert_int_equal(mailbox_list_rename(root, "Archive", "Old", &error), 0);
	assert_true(exists(".Old.2024/cur"));
	assert_false(exists(".Archive"));
	assert_int_equal(mailbox_list_delete(root, "Drafts", &error), 0);
	assert_false(exists(".Drafts"));

	assert_int_equal(mailbox_subscriptions_read(root, &l, &error), 0);
	assert_int_equal(l.count, 3);
	assert_string_equal(l.names[1], "Archive.2024");
	mailbox_names_clear(&l);
	assert_int_equal(mailbox_subscriptions_set(root, "Old", true, &error), 0);
	assert_int_equal(mailbox_subscriptions_set(root, "Sent", false, &error), 0);
	char *subs = read_file("subscriptions");
	assert_string_equal(subs, "V\t2\n\nArchive\t2024\nGone\nOld\n");
	free(subs);

	assert_true(mailbox_list_match("*", "Old.2024"));
	assert_false(mailbox_list_match("%", "Old.2024"));
	assert_true(mailbox_list_match("Old.%", "Old.2024"));
	assert_true(mailbox_list_match("inbox", "INBOX"));
	assert_false(mailbox_list_match("S%x", "Sent"));
	assert_string_equal(mailbox_list_special_use("Trash"), "\\Trash");
	assert_null(mailbox_list_special_use("Work"));
}

static void
test_renamed_behind_our_back(void **state)
{
	(void)state;
	char *error = NULL;
	struct mailbox *box;
	assert_int_equal(mailbox_open(root, "INBOX", false, &box, &error), 1);
	/* another process flags message 1 (renames its file) */
	struct buf from, to;
	buf_init(&from);
	buf_init(&to);
	mailbox_msg_path(box, 0, &from);
	/* "<root>/cur/<base>:2,..." -> "<root>/cur/<base>:2,FRS" (a heap
	 * copy: gcc's -Wstringop-overread cannot size buf_data()) */
	char *old_path = xstrdup(buf_data(&from));
	size_t dir_len = strlen(root) + 5;
	buf_append(&to, old_path, dir_len + strcspn(old_path + dir_len, ":"));
	free(old_path);
	buf_append_str(&to, ":2,FRS");
	assert_int_equal(rename(buf_data(&from), buf_data(&to)), 0);
	struct buf body;
	buf_init(&body);
	assert_int_equal(mailbox_msg_read(box, 0, &body), 1);
	assert_true(buf_len(&body) > 0);
	/* the view still has the old flags; the next sync reports them */
	assert_int_equal(box->msgs[0].flags & MAILBOX_FLAG_FLAGGED, 0);
	struct mailbox_changes ch;
	assert_int_equal(mailbox_sync(box, &ch, &error), 0);
	assert_int_equal(ch.n_flag_changed, 1);
	assert_int_equal(ch.flag_changed[0], 1);
	mailbox_changes_clear(&ch);
	buf_clear(&body);
	buf_clear(&from);
	buf_clear(&to);
	mailbox_free(&box);
}

/* IMAP after non-UID FETCH/STORE/SEARCH: a vanished message stays in the
 * view (sequence numbers do not move) while new mail and flag changes are
 * reported; the next full sync reports the expunge. */
static void
test_sync_without_expunges(void **state)
{
	(void)state;
	char *error = NULL;
	mkdirs(".Held");
	write_file(".Held/cur/1800000001.M1P1.h:2,", msg1);
	write_file(".Held/cur/1800000002.M2P2.h:2,S", msg2);
	write_file(".Held/cur/1800000003.M3P3.h:2,", msg1);
	struct mailbox *a, *b;
	assert_int_equal(mailbox_open(root, "Held", false, &a, &error), 1);
	assert_int_equal(mailbox_open(root, "Held", false, &b, &error), 1);
	assert_int_equal(a->count, 3);
	assert_false(mailbox_needs_sync(a));
	/* b flags 1 and expunges 2; a delivery */
	assert_int_equal(mailbox_set_flags(b, 0, MAILBOX_FLAG_FLAGGED, 0,
		&error), 1);
	assert_int_equal(mailbox_expunge(b, 1, &error), 0);
	write_file(".Held/new/1800000009.M9P9.h", msg2);
	assert_true(mailbox_needs_sync(a));

	struct mailbox_changes ch;
	for (int round = 0; round < 2; round++) {
		/* the second round: nothing new, the vanished one stays */
		assert_int_equal(mailbox_sync_no_expunges(a, &ch, &error), 0);
		assert_int_equal(ch.n_expunged, 0);
		assert_int_equal(ch.old_count, round == 0 ? 3 : 4);
		assert_int_equal(ch.n_flag_changed, round == 0 ? 1 : 0);
		if (round == 0)
			assert_int_equal(ch.flag_changed[0], 1);
		mailbox_changes_clear(&ch);
		assert_int_equal(a->count, 4);
		assert_int_equal(a->held_expunges, 1);
		assert_true(a->msgs[1].expunged);
		assert_int_equal(a->msgs[1].uid, 2);
		assert_false(a->msgs[3].expunged);
		assert_int_equal(a->msgs[3].uid, 4);
		assert_int_equal(a->msgs[0].flags & MAILBOX_FLAGS_STORED,
			MAILBOX_FLAG_FLAGGED);
		assert_int_equal(mailbox_find_uid(a, 2), 1);
		/* moving new/ to cur/ changed both: one more scan */
		assert_int_equal(mailbox_needs_sync(a), round == 0);
	}
	struct buf body;
	buf_init(&body);
	assert_int_equal(mailbox_msg_read(a, 1, &body), 0);
	assert_int_equal(mailbox_set_flags(a, 1, MAILBOX_FLAG_SEEN, 0, &error),
		0);
	assert_int_equal(mailbox_msg_read(a, 3, &body), 1);
	buf_clear(&body);

	/* a full sync reports it, at its sequence number */
	assert_int_equal(mailbox_sync(a, &ch, &error), 0);
	assert_int_equal(ch.n_expunged, 1);
	assert_int_equal(ch.expunged[0], 2);
	mailbox_changes_clear(&ch);
	assert_int_equal(a->count, 3);
	assert_int_equal(a->held_expunges, 0);
	assert_int_equal(a->msgs[1].uid, 3);

	/* a new UIDVALIDITY is left to the full sync */
	uint32_t validity = a->uidvalidity;
	write_file(".Held/dovecot-uidlist",
		"3 V1900000000 N1 G0123456789abcdef0123456789abcdef\n");
	assert_int_equal(mailbox_sync_no_expunges(a, &ch, &error), 0);
	mailbox_changes_clear(&ch);
	assert_int_equal(a->uidvalidity, validity);
	assert_int_equal(a->count, 3);
	assert_true(mailbox_needs_sync(a));
	assert_int_equal(mailbox_sync(a, &ch, &error), 0);
	assert_int_equal(ch.n_expunged, 3);
	mailbox_changes_clear(&ch);
	assert_int_equal(a->uidvalidity, 1900000000u);
	assert_int_equal(a->count, 3);
	mailbox_free(&a);
	mailbox_free(&b);
}

static void
test_bad_trees(void **state)
{
	(void)state;
	char *error = NULL;
	struct mailbox *box = NULL;
	assert_int_equal(mailbox_open(root, "Missing", false, &box, &error), 0);
	assert_int_equal(mailbox_open(root, "a..b", false, &box, &error), 0);
	/* a uidlist of an unknown version is an error, never a renumbering */
	write_file(".Sent/dovecot-uidlist", "1 1 2\n");
	assert_int_equal(mailbox_open(root, "Sent", false, &box, &error), -1);
	assert_non_null(error);
	free(error);
}

/* New folders get their UIDVALIDITY the way Dovecot gives it: a fresh
 * value even for a folder deleted and created again in the same second,
 * recorded in dovecot-uidvalidity and dovecot-uidvalidity.<hex>. */
static void
test_uidvalidity_of_new_folders(void **state)
{
	(void)state;
	char *error = NULL;
	struct mailbox *box = NULL;
	uint32_t seen[3];
	for (int round = 0; round < 3; round++) {
		if (round > 0)
			assert_int_equal(mailbox_list_delete(root, "Fresh",
				&error), 0);
		assert_int_equal(mailbox_list_create(root, "Fresh", &error), 0);
		assert_int_equal(mailbox_open(root, "Fresh", false, &box,
			&error), 1);
		seen[round] = box->uidvalidity;
		mailbox_free(&box);
		char *v = read_file("dovecot-uidvalidity");
		assert_non_null(v);
		char want[16], marker[64];
		snprintf(want, sizeof(want), "%08x", seen[round]);
		assert_string_equal(v, want);
		free(v);
		snprintf(marker, sizeof(marker), "dovecot-uidvalidity.%08x",
			seen[round]);
		assert_true(exists(marker));
		if (round > 0) {
			assert_true(seen[round] > seen[round - 1]);
			snprintf(marker, sizeof(marker),
				"dovecot-uidvalidity.%08x", seen[round - 1]);
			assert_false(exists(marker));
		}
	}
	/* a value Dovecot left ahead of the clock is continued from */
	write_file("dovecot-uidvalidity", "f0000000");
	char *old = xasprintf("%s/dovecot-uidvalidity.%08x", root, seen[2]);
	char *renamed = xasprintf("%s/dovecot-uidvalidity.f0000000", root);
	assert_int_equal(rename(old, renamed), 0);
	free(old);
	free(renamed);
	assert_int_equal(mailbox_list_create(root, "Later", &error), 0);
	assert_int_equal(mailbox_open(root, "Later", false, &box, &error), 1);
	assert_int_equal(box->uidvalidity, 0xf0000001u);
	mailbox_free(&box);
	assert_int_equal(mailbox_list_delete(root, "Fresh", &error), 0);
	assert_int_equal(mailbox_list_delete(root, "Later", &error), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_dovecot_tree),
		cmocka_unit_test(test_flags_expunge_sync),
		cmocka_unit_test(test_append_copy),
		cmocka_unit_test(test_lock_held),
		cmocka_unit_test(test_folders_subscriptions),
		cmocka_unit_test(test_renamed_behind_our_back),
		cmocka_unit_test(test_sync_without_expunges),
		cmocka_unit_test(test_bad_trees),
		cmocka_unit_test(test_uidvalidity_of_new_folders),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
