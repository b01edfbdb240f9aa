/* guard.c: connection limits and the authentication ban (see guard.h).
 *
 * One table keyed by client address holds, per address, the open connection
 * count, recent failed-login times and the ban deadline. It is guarded by one
 * mutex: it is touched once per accept, close and login, never per command.
 * Entries with nothing to remember are removed, so the table holds at most
 * the open connections plus the recently failing addresses. The limits are
 * read from the current settings each time (they are reloadable). */
#include "postier.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "core/log.h"
#include "core/metric.h"
#include "core/xmalloc.h"
#include "conn.h"
#include "guard.h"
#include "server.h"
#include "settings.h"

/* Failure times remembered per address; auth_ban_failures above this acts
 * as this many. */
#define GUARD_MAX_FAILURES 64

struct guard_entry {
	struct guard_entry *next;
	long long conns;
	long long banned_until_ms;   /* 0: not banned */
	unsigned nfail;              /* failures within the window, oldest first */
	long long fail_ms[GUARD_MAX_FAILURES];
	char ip[INET6_ADDRSTRLEN];
};

static struct {
	pthread_mutex_t lock;
	struct guard_entry **table;
	size_t size;        /* power of two */
	size_t count;
	long long conns;    /* whole server */
} guard = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static long long
guard_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t
guard_hash(const char *ip)
{
	/* FNV-1a */
	uint64_t h = 1469598103934665603ULL;
	for (; *ip != '\0'; ip++) {
		h ^= (unsigned char)*ip;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static void
guard_grow(void)
{
	size_t old_size = guard.size;
	struct guard_entry **old = guard.table;
	guard.size = old_size == 0 ? 256 : old_size * 2;
	guard.table = xcalloc(guard.size, sizeof(*guard.table));
	for (size_t i = 0; i < old_size; i++) {
		struct guard_entry *e = old[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			size_t h = guard_hash(e->ip) & (guard.size - 1);
			e->next = guard.table[h];
			guard.table[h] = e;
		}
	}
	free(old);
}

/* Returns the entry of ip, creating it when create is set. Locked. */
static struct guard_entry *
guard_lookup(const char *ip, bool create)
{
	if (guard.size > 0) {
		struct guard_entry *e = guard.table[guard_hash(ip) & (guard.size - 1)];
		for (; e != NULL; e = e->next) {
			if (strcmp(e->ip, ip) == 0)
				return e;
		}
	}
	if (!create)
		return NULL;
	if (guard.count >= guard.size)
		guard_grow();
	struct guard_entry *e = xcalloc(1, sizeof(*e));
	snprintf(e->ip, sizeof(e->ip), "%s", ip);
	size_t h = guard_hash(ip) & (guard.size - 1);
	e->next = guard.table[h];
	guard.table[h] = e;
	guard.count++;
	return e;
}

/* Forgets failures older than the window. Locked. */
static void
guard_expire(struct guard_entry *e, long long now, long long window_ms)
{
	unsigned keep = 0;
	for (unsigned i = 0; i < e->nfail; i++) {
		if (now - e->fail_ms[i] < window_ms)
			e->fail_ms[keep++] = e->fail_ms[i];
	}
	e->nfail = keep;
	if (e->banned_until_ms != 0 && e->banned_until_ms <= now) {
		e->banned_until_ms = 0;
		metric_gauge_add(METRIC_AUTH_BANNED, -1);
	}
}

/* Removes e when it remembers nothing. Locked. */
static void
guard_maybe_remove(struct guard_entry *e)
{
	if (e->conns > 0 || e->nfail > 0 || e->banned_until_ms != 0)
		return;
	struct guard_entry **pp = &guard.table[guard_hash(e->ip) &
		(guard.size - 1)];
	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	guard.count--;
	free(e);
}

enum guard_refusal
guard_conn_open(const char *ip)
{
	const struct postierd_settings *set = settings_current();
	long long now = guard_now_ms();
	enum guard_refusal ret = GUARD_OK;

	pthread_mutex_lock(&guard.lock);
	struct guard_entry *e = guard_lookup(ip, true);
	guard_expire(e, now, set->auth_ban_window_ms);
	if (e->banned_until_ms != 0)
		ret = GUARD_REFUSE_BANNED;
	else if (guard.conns >= set->max_connections)
		ret = GUARD_REFUSE_GLOBAL;
	else if (set->max_connections_per_ip > 0 &&
		e->conns >= set->max_connections_per_ip)
		ret = GUARD_REFUSE_PER_IP;
	if (ret == GUARD_OK) {
		e->conns++;
		guard.conns++;
	} else {
		guard_maybe_remove(e);
	}
	pthread_mutex_unlock(&guard.lock);
	return ret;
}

void
guard_conn_close(const char *ip)
{
	pthread_mutex_lock(&guard.lock);
	struct guard_entry *e = guard_lookup(ip, false);
	if (e != NULL && e->conns > 0) {
		e->conns--;
		guard.conns--;
		guard_maybe_remove(e);
	}
	pthread_mutex_unlock(&guard.lock);
}

bool
guard_is_banned(const char *ip)
{
	const struct postierd_settings *set = settings_current();
	long long now = guard_now_ms();
	pthread_mutex_lock(&guard.lock);
	struct guard_entry *e = guard_lookup(ip, false);
	bool banned = false;
	if (e != NULL) {
		guard_expire(e, now, set->auth_ban_window_ms);
		banned = e->banned_until_ms != 0;
		guard_maybe_remove(e);
	}
	pthread_mutex_unlock(&guard.lock);
	return banned;
}

/* "user" always in double quotes, whatever it holds: one shape for
 * fail2ban. log_quote() leaves plain tokens bare, so add the quotes. */
static const char *
guard_quote_user(const char *user, char *out, size_t out_size)
{
	const char *q = log_quote(user != NULL ? user : "");
	if (q[0] == '"')
		return q;
	snprintf(out, out_size, "\"%s\"", q);
	return out;
}

static void
guard_proto_metric(const struct conn *c, enum metric_id smtp,
	enum metric_id pop3, enum metric_id imap)
{
	const char *proto = conn_role_proto(conn_role(c));
	metric_inc(proto[0] == 's' ? smtp : proto[0] == 'p' ? pop3 : imap);
}

bool
guard_auth_failed(const struct conn *c, const char *user, const char *reason)
{
	const struct postierd_settings *set = settings_current();
	const char *ip = conn_remote_ip(c);
	char quoted[600];
	bool banned_now = false;
	long long now = guard_now_ms();

	guard_proto_metric(c, METRIC_AUTH_FAIL_SMTP, METRIC_AUTH_FAIL_POP3,
		METRIC_AUTH_FAIL_IMAP);
	log_info("auth.fail", "sid=%s proto=%s user=%s rip=%s reason=%s",
		conn_sid(c), conn_role_proto(conn_role(c)),
		guard_quote_user(user, quoted, sizeof(quoted)), ip,
		log_quote(reason != NULL ? reason : "unknown"));

	long long limit = set->auth_ban_failures;
	if (limit <= 0 || set->auth_ban_time_ms <= 0)
		return false;
	if (limit > GUARD_MAX_FAILURES)
		limit = GUARD_MAX_FAILURES;

	pthread_mutex_lock(&guard.lock);
	struct guard_entry *e = guard_lookup(ip, true);
	guard_expire(e, now, set->auth_ban_window_ms);
	if (e->banned_until_ms == 0) {
		if (e->nfail == GUARD_MAX_FAILURES) {
			memmove(e->fail_ms, e->fail_ms + 1,
				(GUARD_MAX_FAILURES - 1) * sizeof(e->fail_ms[0]));
			e->nfail--;
		}
		e->fail_ms[e->nfail++] = now;
		if (e->nfail >= (unsigned)limit) {
			e->banned_until_ms = now + set->auth_ban_time_ms;
			e->nfail = 0;
			banned_now = true;
			metric_inc(METRIC_AUTH_BANS);
			metric_gauge_add(METRIC_AUTH_BANNED, 1);
		}
	}
	pthread_mutex_unlock(&guard.lock);
	if (banned_now) {
		log_warn("auth.ban", "rip=%s failures=%lld window_ms=%lld "
			"ban_ms=%lld", ip, limit, set->auth_ban_window_ms,
			set->auth_ban_time_ms);
	}
	return banned_now;
}

void
guard_auth_succeeded(const struct conn *c, const char *user)
{
	char quoted[600];
	guard_proto_metric(c, METRIC_AUTH_OK_SMTP, METRIC_AUTH_OK_POP3,
		METRIC_AUTH_OK_IMAP);
	log_info("auth.ok", "sid=%s proto=%s user=%s rip=%s", conn_sid(c),
		conn_role_proto(conn_role(c)),
		guard_quote_user(user, quoted, sizeof(quoted)), conn_remote_ip(c));
}

long long
guard_banned_count(void)
{
	/* expire bans whose time is up so the gauge does not lag */
	const struct postierd_settings *set = settings_current();
	long long now = guard_now_ms();
	pthread_mutex_lock(&guard.lock);
	for (size_t i = 0; i < guard.size; i++) {
		struct guard_entry *e = guard.table[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			guard_expire(e, now, set->auth_ban_window_ms);
			guard_maybe_remove(e);
		}
	}
	pthread_mutex_unlock(&guard.lock);
	return metric_value(METRIC_AUTH_BANNED);
}

void
guard_deinit(void)
{
	pthread_mutex_lock(&guard.lock);
	for (size_t i = 0; i < guard.size; i++) {
		struct guard_entry *e = guard.table[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(guard.table);
	guard.table = NULL;
	guard.size = guard.count = 0;
	pthread_mutex_unlock(&guard.lock);
}
