/* imapd_idle.c: IDLE (RFC 2177) and its wake-ups.
 *
 * One watcher thread owns one inotify descriptor for the whole process and
 * watches new/ and cur/ of every mailbox an IDLE session has selected (the
 * same directory is watched once, counted by users). Any change there,
 * whether made by our delivery, another session or another program such as
 * Dovecot's LDA, posts a wake-up to the session's loop by connection id
 * (loop_post()); the session then rescans and sends EXISTS / EXPUNGE /
 * FETCH FLAGS at once. A session costs one small registry entry while
 * idle: no thread, no timer, no descriptor of its own. */
#include "postier.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "core/log.h"
#include "core/metric.h"
#include "core/xmalloc.h"
#include "conn.h"
#include "imapd.h"
#include "loop.h"
#include "mailbox.h"

struct idle_watch {
	int wd;
	unsigned int users;
};

struct idle_entry {
	struct imapd_session *s;
	struct loop *loop;
	uint64_t conn_id;
	int wd_new, wd_cur;
	bool pending;             /* a wake-up is posted and not yet run */
	struct idle_entry *next;
};

struct idle_post {
	struct loop *loop;
	uint64_t conn_id;
};

static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static int idle_fd = -1;
static struct idle_entry *idle_entries;
static struct idle_watch *idle_watches;
static unsigned int idle_n_watches;

/* On the session's loop thread. */
static void
idle_post_run(void *arg)
{
	struct idle_post *p = arg;
	struct imapd_session *s = NULL;
	pthread_mutex_lock(&idle_lock);
	for (struct idle_entry *e = idle_entries; e != NULL; e = e->next) {
		if (e->conn_id == p->conn_id && e->loop == p->loop) {
			e->pending = false;
			s = e->s;
			break;
		}
	}
	pthread_mutex_unlock(&idle_lock);
	/* only this thread frees the session, so it is alive if listed and
	 * its connection still exists */
	if (s != NULL && loop_find_conn(p->loop, p->conn_id) != NULL)
		imapd_idle_wakeup(s);
	free(p);
}

static void *
idle_thread(void *arg)
{
	(void)arg;
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(idle_fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("imap.idle_error", "error=%s",
				log_quote(strerror(errno)));
			return NULL;
		}
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			pthread_mutex_lock(&idle_lock);
			for (struct idle_entry *e = idle_entries; e != NULL;
			     e = e->next) {
				if ((e->wd_new != ev->wd && e->wd_cur != ev->wd) ||
				    e->pending)
					continue;
				e->pending = true;
				struct idle_post *post = xmalloc(sizeof(*post));
				post->loop = e->loop;
				post->conn_id = e->conn_id;
				loop_post(e->loop, idle_post_run, post);
			}
			pthread_mutex_unlock(&idle_lock);
			p += sizeof(*ev) + ev->len;
		}
	}
}

/* Under idle_lock. */
static int
idle_watch_add(const char *path)
{
	int wd = inotify_add_watch(idle_fd, path, IN_CREATE | IN_DELETE |
		IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR);
	if (wd < 0)
		return -1;
	for (unsigned int i = 0; i < idle_n_watches; i++) {
		if (idle_watches[i].wd == wd) {
			idle_watches[i].users++;
			return wd;
		}
	}
	idle_watches = xrealloc(idle_watches,
		(idle_n_watches + 1) * sizeof(*idle_watches));
	idle_watches[idle_n_watches].wd = wd;
	idle_watches[idle_n_watches].users = 1;
	idle_n_watches++;
	return wd;
}

/* Under idle_lock. */
static void
idle_watch_release(int wd)
{
	for (unsigned int i = 0; i < idle_n_watches; i++) {
		if (idle_watches[i].wd != wd)
			continue;
		if (--idle_watches[i].users == 0) {
			(void)inotify_rm_watch(idle_fd, wd);
			idle_watches[i] = idle_watches[--idle_n_watches];
		}
		return;
	}
}

void
imapd_idle_register(struct imapd_session *s)
{
	if (s->box == NULL || s->idle_registered)
		return;
	pthread_mutex_lock(&idle_lock);
	if (idle_fd < 0) {
		idle_fd = inotify_init1(IN_CLOEXEC);
		if (idle_fd >= 0) {
			pthread_t t;
			if (pthread_create(&t, NULL, idle_thread, NULL) != 0) {
				close(idle_fd);
				idle_fd = -1;
			} else {
				pthread_detach(t);
			}
		}
		if (idle_fd < 0) {
			pthread_mutex_unlock(&idle_lock);
			log_error("imap.idle_error", "error=%s",
				log_quote("inotify unavailable"));
			return;
		}
	}
	struct idle_entry *e = xcalloc(1, sizeof(*e));
	e->s = s;
	e->loop = conn_loop(s->c);
	e->conn_id = s->conn_id;
	char *p = xasprintf("%s/new", s->box->path);
	e->wd_new = idle_watch_add(p);
	free(p);
	p = xasprintf("%s/cur", s->box->path);
	e->wd_cur = idle_watch_add(p);
	free(p);
	e->next = idle_entries;
	idle_entries = e;
	pthread_mutex_unlock(&idle_lock);
	s->idle_registered = true;
}

void
imapd_idle_unregister(struct imapd_session *s)
{
	if (!s->idle_registered)
		return;
	pthread_mutex_lock(&idle_lock);
	for (struct idle_entry **ep = &idle_entries; *ep != NULL;
	     ep = &(*ep)->next) {
		struct idle_entry *e = *ep;
		if (e->s != s)
			continue;
		*ep = e->next;
		if (e->wd_new >= 0)
			idle_watch_release(e->wd_new);
		if (e->wd_cur >= 0)
			idle_watch_release(e->wd_cur);
		free(e);
		break;
	}
	pthread_mutex_unlock(&idle_lock);
	s->idle_registered = false;
}

void
imapd_idle_wakeup(struct imapd_session *s)
{
	if (!s->idling || s->state != IMAPD_STATE_SELECTED)
		return;
	if (s->box_busy)
		s->sync_again = true; /* imapd_sync_finished() looks again */
	else
		(void)imapd_sync_start(s, true);
}

bool
imapd_cmd_idle(struct imapd_session *s, const struct imap_arg *args)
{
	(void)args;
	s->idling = true;
	metric_gauge_add(METRIC_IMAP_IDLE_SESSIONS, 1);
	conn_write_str(s->c, "+ idling\r\n");
	if (s->state == IMAPD_STATE_SELECTED) {
		/* watch first: a change after the watch wakes us, one before
		 * it is found by this sync */
		imapd_idle_register(s);
		if (imapd_sync_start(s, true))
			return false; /* imapd_sync_finished() resumes input */
	}
	conn_pause_input(s->c, false); /* DONE is input */
	return false;
}

void
imapd_idle_done(struct imapd_session *s)
{
	s->idling = false;
	metric_gauge_add(METRIC_IMAP_IDLE_SESSIONS, -1);
	imapd_idle_unregister(s);
	imapd_tagged(s, "OK", "Idle completed.");
	imapd_command_done(s);
}
