/* directory.c: the directory interface (directory.h) over the passwd-file
 * back-end. The whole file is loaded into a sorted array at start-up and on
 * SIGHUP; look-ups take a reference on the current table, so a reload never
 * frees one that a worker is reading. The MySQL back-end (a later issue) will
 * sit behind the same functions and is what the _async forms are for. */
#include "postier.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/log.h"
#include "core/metric.h"
#include "core/xmalloc.h"
#include "directory.h"
#include "conn.h"
#include "loop.h"
#include "mail_location.h"
#include "passwd_file.h"
#include "password.h"
#include "settings.h"

struct directory_db {
	atomic_int refcount;
	struct passwd_entry *users; /* sorted by user */
	size_t user_count;
	char **domains;             /* sorted, unique, lower-case */
	size_t domain_count;
	char *mail_location;
};

static pthread_mutex_t directory_lock = PTHREAD_MUTEX_INITIALIZER;
static struct directory_db *directory_current;

static void
directory_db_unref(struct directory_db **dbp)
{
	struct directory_db *db = *dbp;
	*dbp = NULL;
	if (db == NULL || atomic_fetch_sub(&db->refcount, 1) != 1)
		return;
	for (size_t i = 0; i < db->user_count; i++)
		passwd_entry_clear(&db->users[i]);
	free(db->users);
	for (size_t i = 0; i < db->domain_count; i++)
		free(db->domains[i]);
	free(db->domains);
	free(db->mail_location);
	free(db);
}

static struct directory_db *
directory_db_get(void)
{
	pthread_mutex_lock(&directory_lock);
	struct directory_db *db = directory_current;
	if (db != NULL)
		atomic_fetch_add(&db->refcount, 1);
	pthread_mutex_unlock(&directory_lock);
	return db;
}

static int
directory_entry_cmp(const void *a, const void *b)
{
	const struct passwd_entry *x = a, *y = b;
	return strcmp(x->user, y->user);
}

static int
directory_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
directory_add_domain(struct directory_db *db, size_t *cap, const char *d)
{
	if (db->domain_count == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		db->domains = xrealloc(db->domains, *cap * sizeof(char *));
	}
	char *s = xstrdup(d);
	for (char *p = s; *p != '\0'; p++)
		*p = tolower((unsigned char)*p);
	db->domains[db->domain_count++] = s;
}

/* The default when mail.location is empty: DATA_DIR/mail/%d/%n/Maildir */
static char *
directory_location(const struct postierd_settings *set)
{
	if (set->mail_location != NULL && set->mail_location[0] != '\0')
		return xstrdup(set->mail_location);
	return xasprintf("maildir:%s/mail/%%d/%%n/Maildir",
		set->data_dir != NULL ? set->data_dir : "/var/lib/postier");
}

static struct directory_db *
directory_db_load(const struct postierd_settings *set, char **error_r)
{
	const char *path = set->directory_passwd_file;
	if (path == NULL || path[0] == '\0') {
		*error_r = xasprintf("directory.passwd_file is not set");
		return NULL;
	}
	struct directory_db *db = xcalloc(1, sizeof(*db));
	atomic_init(&db->refcount, 1);
	db->mail_location = directory_location(set);
	if (mail_location_check(db->mail_location, error_r) < 0)
		goto fail;

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		goto fail;
	}
	struct passwd_reader r;
	passwd_reader_init(&r);
	size_t cap = 0, dcap = 0;
	char data[8192];
	bool eof = false;
	int ret = 0;
	while (ret == 0) {
		struct passwd_entry e;
		unsigned line;
		const char *err;
		int n = passwd_reader_next(&r, &e, &line, &err);
		if (n > 0) {
			if (db->user_count == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				db->users = xrealloc(db->users,
					cap * sizeof(*db->users));
			}
			db->users[db->user_count++] = e;
			continue;
		}
		if (n < 0) {
			*error_r = xasprintf("%s:%u: %s", path, line, err);
			ret = -1;
			break;
		}
		if (eof)
			break;
		ssize_t got = read(fd, data, sizeof(data));
		if (got < 0) {
			if (errno == EINTR)
				continue;
			*error_r = xasprintf("%s: read: %s", path,
				strerror(errno));
			ret = -1;
		} else if (got == 0) {
			eof = true;
			passwd_reader_finish(&r);
		} else {
			passwd_reader_feed(&r, data, got);
		}
	}
	explicit_bzero(data, sizeof(data));
	passwd_reader_clear(&r);
	close(fd);
	if (ret < 0)
		goto fail;

	qsort(db->users, db->user_count, sizeof(*db->users),
		directory_entry_cmp);
	for (size_t i = 1; i < db->user_count; i++) {
		if (strcmp(db->users[i - 1].user, db->users[i].user) == 0) {
			*error_r = xasprintf("%s:%u: user %s already defined "
				"on line %u", path, db->users[i].line,
				db->users[i].user, db->users[i - 1].line);
			goto fail;
		}
	}
	for (size_t i = 0; i < db->user_count; i++) {
		const char *at = strrchr(db->users[i].user, '@');
		if (at != NULL)
			directory_add_domain(db, &dcap, at + 1);
	}
	for (size_t i = 0; i < set->smtp_local_domains.count; i++)
		directory_add_domain(db, &dcap, set->smtp_local_domains.items[i]);
	if (db->domain_count > 0) {
		qsort(db->domains, db->domain_count, sizeof(char *),
			directory_str_cmp);
		size_t w = 1;
		for (size_t i = 1; i < db->domain_count; i++) {
			if (strcmp(db->domains[i], db->domains[w - 1]) == 0)
				free(db->domains[i]);
			else
				db->domains[w++] = db->domains[i];
		}
		db->domain_count = w;
	}
	return db;
fail:
	directory_db_unref(&db);
	return NULL;
}

int
directory_init(const struct postierd_settings *set, char **error_r)
{
	struct directory_db *db = directory_db_load(set, error_r);
	if (db == NULL)
		return -1;
	pthread_mutex_lock(&directory_lock);
	struct directory_db *old = directory_current;
	directory_current = db;
	pthread_mutex_unlock(&directory_lock);
	directory_db_unref(&old);
	log_info("directory.loaded", "driver=passwd-file file=%s users=%zu "
		"domains=%zu", log_quote(set->directory_passwd_file),
		db->user_count, db->domain_count);
	return 0;
}

int
directory_reload(const struct postierd_settings *set, char **error_r)
{
	return directory_init(set, error_r);
}

void
directory_deinit(void)
{
	pthread_mutex_lock(&directory_lock);
	struct directory_db *old = directory_current;
	directory_current = NULL;
	pthread_mutex_unlock(&directory_lock);
	directory_db_unref(&old);
}

/* user@Domain -> user@domain (heap) */
static char *
directory_canonical(const char *address)
{
	char *s = xstrdup(address);
	char *at = strrchr(s, '@');
	if (at != NULL) {
		for (char *p = at + 1; *p != '\0'; p++)
			*p = tolower((unsigned char)*p);
	}
	return s;
}

static const struct passwd_entry *
directory_find(const struct directory_db *db, const char *address)
{
	struct passwd_entry key = { .user = (char *)address };
	return bsearch(&key, db->users, db->user_count, sizeof(*db->users),
		directory_entry_cmp);
}

static enum directory_result
directory_make_user(const struct directory_db *db,
	const struct passwd_entry *e, struct directory_user **user_r)
{
	char *location = passwd_entry_extra(e, "userdb_mail");
	if (location == NULL)
		location = passwd_entry_extra(e, "mail");
	char *error = NULL;
	char *maildir = mail_location_expand(location != NULL ? location :
		db->mail_location, e->user, e->home, &error);
	free(location);
	if (maildir == NULL) {
		log_error("directory.error", "user=%s reason=%s",
			log_quote(e->user), log_quote(error));
		free(error);
		metric_inc(METRIC_DIRECTORY_ERRORS);
		return DIRECTORY_ERROR;
	}
	struct directory_user *u = xcalloc(1, sizeof(*u));
	u->address = xstrdup(e->user);
	u->home = e->home != NULL ? xstrdup(e->home) : NULL;
	u->uid = e->uid;
	u->gid = e->gid;
	u->maildir = maildir;
	*user_r = u;
	return DIRECTORY_FOUND;
}

enum directory_result
directory_lookup(const char *address, struct directory_user **user_r)
{
	*user_r = NULL;
	struct directory_db *db = directory_db_get();
	if (db == NULL) {
		metric_inc(METRIC_DIRECTORY_ERRORS);
		return DIRECTORY_ERROR;
	}
	char *canon = directory_canonical(address);
	const struct passwd_entry *e = directory_find(db, canon);
	free(canon);
	enum directory_result ret = e == NULL ? DIRECTORY_NOT_FOUND :
		directory_make_user(db, e, user_r);
	directory_db_unref(&db);
	return ret;
}

enum directory_result
directory_authenticate(const char *address, const char *password,
	struct directory_user **user_r)
{
	*user_r = NULL;
	struct directory_db *db = directory_db_get();
	if (db == NULL) {
		metric_inc(METRIC_DIRECTORY_ERRORS);
		return DIRECTORY_ERROR;
	}
	char *canon = directory_canonical(address);
	const struct passwd_entry *e = directory_find(db, canon);
	free(canon);
	enum directory_result ret;
	if (e == NULL || e->password[0] == '\0') {
		password_dummy_verify(password);
		ret = DIRECTORY_NOT_FOUND;
	} else {
		const char *error;
		int v = password_verify(e->password, password, &error);
		if (v < 0) {
			/* a broken hash is the operator's problem, not a
			 * reason to let anyone in nor to tell "unknown" */
			log_error("directory.bad_hash", "user=%s line=%u "
				"reason=%s", log_quote(e->user), e->line,
				log_quote(error));
			ret = DIRECTORY_NOT_FOUND;
		} else if (v == 0) {
			ret = DIRECTORY_NOT_FOUND;
		} else {
			ret = directory_make_user(db, e, user_r);
		}
	}
	directory_db_unref(&db);
	return ret;
}

enum directory_result
directory_is_local_domain(const char *domain)
{
	struct directory_db *db = directory_db_get();
	if (db == NULL)
		return DIRECTORY_ERROR;
	char *d = xstrdup(domain);
	for (char *p = d; *p != '\0'; p++)
		*p = tolower((unsigned char)*p);
	bool found = bsearch(&d, db->domains, db->domain_count,
		sizeof(char *), directory_str_cmp) != NULL;
	free(d);
	directory_db_unref(&db);
	return found ? DIRECTORY_FOUND : DIRECTORY_NOT_FOUND;
}

void
directory_user_free(struct directory_user **userp)
{
	struct directory_user *u = *userp;
	if (u == NULL)
		return;
	*userp = NULL;
	free(u->address);
	free(u->home);
	free(u->maildir);
	free(u);
}

/* async: one request travels to a worker and back by connection id (the
 * runtime's worker_submit() does the id check) */
struct directory_request {
	char *address;
	char *password;   /* NULL for a look-up */
	directory_cb *cb;
	void *context;
	enum directory_result result;
	struct directory_user *user;
};

static void
directory_request_work(void *arg)
{
	struct directory_request *req = arg;
	if (req->password != NULL) {
		req->result = directory_authenticate(req->address,
			req->password, &req->user);
	} else {
		req->result = directory_lookup(req->address, &req->user);
	}
}

static void
directory_request_done(struct conn *c, void *arg)
{
	struct directory_request *req = arg;
	req->cb(c, req->result, req->user, req->context);
	free(req->address);
	if (req->password != NULL) {
		explicit_bzero(req->password, strlen(req->password));
		free(req->password);
	}
	free(req);
}

static void
directory_submit(struct conn *c, const char *address, const char *password,
	directory_cb *cb, void *context)
{
	struct directory_request *req = xcalloc(1, sizeof(*req));
	req->address = xstrdup(address);
	req->password = password != NULL ? xstrdup(password) : NULL;
	req->cb = cb;
	req->context = context;
	req->result = DIRECTORY_ERROR;
	worker_submit(c, directory_request_work, directory_request_done, req);
}

/* passwd-file look-ups are a binary search in memory: answered on the
 * loop thread itself, the callback posted to run after we return (no
 * worker round trip per RCPT). A back-end that does I/O goes through the
 * worker pool like password checks do. */
struct directory_posted {
	struct loop *loop;
	uint64_t conn_id;
	struct directory_request *req;
};

static void
directory_posted_run(void *arg)
{
	struct directory_posted *p = arg;
	struct conn *c = loop_find_conn(p->loop, p->conn_id);
	directory_request_done(c, p->req);
	free(p);
}

void
directory_lookup_async(struct conn *c, const char *address,
	directory_cb *cb, void *context)
{
	struct directory_request *req = xcalloc(1, sizeof(*req));
	req->address = xstrdup(address);
	req->cb = cb;
	req->context = context;
	req->result = directory_lookup(address, &req->user);
	struct directory_posted *p = xcalloc(1, sizeof(*p));
	p->loop = conn_loop(c);
	p->conn_id = conn_id(c);
	p->req = req;
	loop_post(p->loop, directory_posted_run, p);
}

void
directory_authenticate_async(struct conn *c, const char *address,
	const char *password, directory_cb *cb, void *context)
{
	directory_submit(c, address, password, cb, context);
}
