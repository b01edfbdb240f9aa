/* main.c: postierd's entry point: options, start-up order, signals.
 *
 * Start-up: load and check the configuration, bind every port (as root if
 * need be), daemonize on -d, drop to [server] user/group, open the directory
 * and the queue, start the loops and the admin endpoint. The main thread then
 * only waits for signals: SIGHUP reloads, SIGTERM/SIGINT drain and stop. */
#include "postier.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/ssl.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "core/log.h"
#include "core/metric.h"
#include "core/xmalloc.h"
#include "admin.h"
#include "directory.h"
#include "queue.h"
#include "server.h"
#include "settings.h"
#include "tls.h"

#define MAIN_DEFAULT_CONFIG "/etc/postier/postierd.conf"
#define MAIN_DRAIN_POLL_MS 100
#define MAIN_NSIGNALS 3

static struct {
	const char *config_path;
	struct event_base *base;
	struct event *drain_timer;
	struct event *sigs[MAIN_NSIGNALS];
	struct timespec drain_deadline;
	int ready_fd;      /* -d: tells the parent start-up finished */
	bool detached;     /* -d and started: stderr is gone */
	char *pid_file;
} mainst = { .ready_fd = -1 };

static void
main_usage(FILE *out)
{
	fprintf(out,
"Usage: postierd [-c FILE] [-n] [-d]\n"
"Postier mail server: SMTP, submission, POP3 and IMAP over TLS.\n"
"\n"
"  -c, --config FILE   configuration file (default " MAIN_DEFAULT_CONFIG ")\n"
"  -n, --check         print the effective configuration and exit 0, or\n"
"                      print FILE:LINE: error and exit 1\n"
"  -d, --daemon        detach from the terminal, write [server] pid_file\n"
"  -h, --help          this text\n"
"  -V, --version       print the version\n"
"\n"
"Runs in the foreground without -d. Signals: SIGHUP reloads the configuration,\n"
"certificates and directory; SIGTERM drains (stops accepting, lets running\n"
"transactions finish up to [server] drain_timeout) and exits 0.\n"
"Documentation: docs/configuration.md, docs/metrics.md.\n");
}

static enum log_target
main_log_target(const struct postierd_settings *set)
{
	switch ((enum settings_log_target)set->log_target) {
	case SETTINGS_LOG_SYSLOG: return LOG_TARGET_SYSLOG;
	case SETTINGS_LOG_FILE: return LOG_TARGET_FILE;
	case SETTINGS_LOG_STDERR: break;
	}
	return LOG_TARGET_STDERR;
}

static int
main_apply_log(const struct postierd_settings *set)
{
	enum log_level level = LOG_LEVEL_INFO;
	(void)log_level_parse(set->log_level, &level);
	enum log_target target = main_log_target(set);
	/* a daemon has no stderr once started: its log goes to syslog */
	if (mainst.detached && target == LOG_TARGET_STDERR)
		target = LOG_TARGET_SYSLOG;
	return log_init("postierd", target, set->log_file, level);
}

/* --- daemon, pid file, privileges --- */

/* Forks twice; the original process waits for the daemon to report that it
 * started (exit 0) or died (exit 1). */
static void
main_daemonize(void)
{
	int pipefd[2];
	if (pipe(pipefd) < 0)
		log_fatal("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		log_fatal("fork: %s", strerror(errno));
	if (pid > 0) {
		close(pipefd[1]);
		char c;
		ssize_t n;
		do {
			n = read(pipefd[0], &c, 1);
		} while (n < 0 && errno == EINTR);
		_exit(n == 1 ? 0 : 1);
	}
	close(pipefd[0]);
	if (setsid() < 0)
		log_fatal("setsid: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		log_fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		log_fatal("chdir /: %s", strerror(errno));
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (main_log_target(settings_current()) != LOG_TARGET_STDERR)
			dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	mainst.ready_fd = pipefd[1];
}

static void
main_write_pid_file(const char *path)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		log_fatal("pid_file: path too long");
	FILE *f = fopen(tmp, "we");
	if (f == NULL)
		log_fatal("pid_file %s: %s", path, strerror(errno));
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		log_fatal("pid_file %s: %s", path, strerror(errno));
	mainst.pid_file = xstrdup(path);
}

/* Every connection is a descriptor: raise the soft limit to the hard one
 * (the default 1024 would cap postierd far below limits.max_connections). */
static void
main_raise_fd_limit(const struct postierd_settings *set)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	/* a descriptor per session, plus listeners, spool and log files */
	rlim_t want = (rlim_t)set->max_connections + 256;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		log_warn("server.fd_limit", "limit=%llu max_connections=%lld "
			"hint=%s", (unsigned long long)rl.rlim_cur,
			set->max_connections,
			log_quote("raise RLIMIT_NOFILE (LimitNOFILE=) or lower "
			"limits.max_connections"));
	}
}

static void
main_drop_privileges(const struct postierd_settings *set)
{
	if (geteuid() != 0)
		return;
	if (set->user == NULL) {
		log_warn("server.root", "reason=%s",
			log_quote("running as root: set [server] user"));
		return;
	}
	errno = 0;
	struct passwd *pw = getpwnam(set->user);
	if (pw == NULL)
		log_fatal("[server] user %s: %s", set->user,
			errno != 0 ? strerror(errno) : "no such user");
	gid_t gid = pw->pw_gid;
	if (set->group != NULL) {
		errno = 0;
		struct group *gr = getgrnam(set->group);
		if (gr == NULL)
			log_fatal("[server] group %s: %s", set->group,
				errno != 0 ? strerror(errno) : "no such group");
		gid = gr->gr_gid;
	}
	/* the data directory must belong to the unprivileged user */
	if (mkdir(set->data_dir, 0750) == 0 || errno == EEXIST) {
		if (chown(set->data_dir, pw->pw_uid, gid) < 0)
			log_warn("server.chown", "path=%s error=%s",
				log_quote(set->data_dir), log_quote(strerror(errno)));
	}
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(pw->pw_uid) < 0)
		log_fatal("cannot drop privileges to %s: %s", set->user,
			strerror(errno));
	if (setuid(0) == 0)
		log_fatal("privileges were not dropped");
	log_info("server.privileges", "user=%s uid=%ld gid=%ld",
		log_quote(set->user), (long)pw->pw_uid, (long)gid);
}

/* --- signals --- */

static void
main_reload(void)
{
	const struct postierd_settings *old = settings_current();
	char *error = NULL;
	struct postierd_settings *set = settings_load(mainst.config_path, &error);
	if (set == NULL) {
		log_error("config.reload_failed", "error=%s", log_quote(error));
		free(error);
		return;
	}
	struct buf reloadable, restart;
	buf_init(&reloadable);
	buf_init(&restart);
	size_t changed = cfg_diff(settings_defs, settings_defs_count, old, set,
		&reloadable, &restart);
	if (main_apply_log(set) < 0) {
		log_error("config.reload_failed", "error=%s",
			log_quote("cannot open log_file"));
		(void)main_apply_log(old);
	}
	int failures = 0;
	if (tls_server_configure(set, &error) < 0) {
		log_error("tls.reload_failed", "error=%s keeping=old", log_quote(error));
		free(error);
		failures++;
	}
	if (directory_reload(set, &error) < 0) {
		log_error("directory.reload_failed", "error=%s keeping=old",
			log_quote(error));
		free(error);
		failures++;
	}
	settings_keep_restart_keys(set, old);
	settings_set_current(set);
	log_reopen();
	/* logged once in force: whoever waits for this line sees the result */
	log_info("config.reload", "changed=%zu applied=%s restart_needed=%s "
		"failures=%d", changed, log_quote(buf_data(&reloadable)),
		log_quote(buf_data(&restart)), failures);
	if (buf_len(&restart) > 0) {
		log_warn("config.restart_needed", "keys=%s",
			log_quote(buf_data(&restart)));
	}
	buf_clear(&reloadable);
	buf_clear(&restart);
}

static void
main_drain_check(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
	void *arg ATTR_UNUSED)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	bool late = now.tv_sec > mainst.drain_deadline.tv_sec ||
		(now.tv_sec == mainst.drain_deadline.tv_sec &&
		now.tv_nsec >= mainst.drain_deadline.tv_nsec);
	if (server_conn_count() == 0 || late) {
		if (late)
			log_warn("server.drain_timeout", "connections=%lld",
				server_conn_count());
		event_base_loopbreak(mainst.base);
	}
}

static void
main_signal_cb(evutil_socket_t sig, short what ATTR_UNUSED,
	void *arg ATTR_UNUSED)
{
	if (sig == SIGHUP) {
		log_info("signal.hup", NULL);
		main_reload();
		return;
	}
	if (server_is_draining()) {
		/* a second SIGTERM: stop now */
		log_info("signal.term", "action=stop_now");
		event_base_loopbreak(mainst.base);
		return;
	}
	long long timeout_ms = settings_current()->drain_timeout_ms;
	log_info("signal.term", "action=drain timeout_ms=%lld", timeout_ms);
	clock_gettime(CLOCK_MONOTONIC, &mainst.drain_deadline);
	mainst.drain_deadline.tv_sec += timeout_ms / 1000;
	mainst.drain_deadline.tv_nsec += (timeout_ms % 1000) * 1000000;
	if (mainst.drain_deadline.tv_nsec >= 1000000000) {
		mainst.drain_deadline.tv_sec++;
		mainst.drain_deadline.tv_nsec -= 1000000000;
	}
	server_drain();
	struct timeval tv = { 0, MAIN_DRAIN_POLL_MS * 1000 };
	mainst.drain_timer = event_new(mainst.base, -1, EV_PERSIST,
		main_drain_check, NULL);
	event_add(mainst.drain_timer, &tv);
}

/* --- main --- */

static void
main_start(struct postierd_settings *set, bool daemonize)
{
	char *error = NULL;

	main_raise_fd_limit(set);
	if (tls_server_configure(set, &error) < 0)
		log_fatal("%s", error);
	if (server_bind(set, &error) < 0 || admin_bind(set, &error) < 0)
		log_fatal("%s", error);
	if (daemonize)
		main_daemonize();
	if (set->pid_file != NULL) {
		main_write_pid_file(set->pid_file);
	} else if (daemonize) {
		char *path = xasprintf("%s/postierd.pid", set->data_dir);
		main_write_pid_file(path);
		free(path);
	}
	main_drop_privileges(set);
	/* after the fork: an event base does not survive one */
	mainst.base = event_base_new();
	if (mainst.base == NULL)
		log_fatal("event_base_new failed");
	const int signums[MAIN_NSIGNALS] = { SIGTERM, SIGINT, SIGHUP };
	for (int i = 0; i < MAIN_NSIGNALS; i++) {
		mainst.sigs[i] = evsignal_new(mainst.base, signums[i],
			main_signal_cb, NULL);
		event_add(mainst.sigs[i], NULL);
	}
	if (mkdir(set->data_dir, 0750) < 0 && errno != EEXIST)
		log_fatal("data_dir %s: %s", set->data_dir, strerror(errno));
	if (directory_init(set, &error) < 0)
		log_fatal("directory: %s", error);
	if (queue_init(set, &error) < 0)
		log_fatal("queue: %s", error);

	/* Loop and worker threads must not take the signals: the main
	 * thread's event base handles them. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if (server_start(set, &error) < 0 || admin_start(&error) < 0)
		log_fatal("%s", error);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	metric_gauge_set(METRIC_INFO, 1);
	metric_gauge_set(METRIC_START_TIME, (int64_t)time(NULL));
	log_info("server.ready", "version=%s pid=%ld config=%s",
		POSTIER_VERSION, (long)getpid(), log_quote(set->config_path));
	if (mainst.ready_fd >= 0) {
		/* Start-up errors went to the caller's stderr; from now on the
		 * caller's terminal or pipe is released. */
		mainst.detached = true;
		if (main_log_target(set) == LOG_TARGET_STDERR) {
			log_info("server.daemon", "log=syslog");
			(void)main_apply_log(set);
		}
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		ssize_t n = write(mainst.ready_fd, "1", 1);
		(void)n;
		close(mainst.ready_fd);
		mainst.ready_fd = -1;
	}
}

static void
main_stop(void)
{
	if (mainst.drain_timer != NULL)
		event_free(mainst.drain_timer);
	server_drain();
	server_close_all();
	admin_stop();
	queue_deinit();
	server_stop();
	directory_deinit();
	tls_server_deinit();
	guard_deinit();
	if (mainst.pid_file != NULL) {
		(void)unlink(mainst.pid_file);
		free(mainst.pid_file);
	}
	log_info("server.stop", "pid=%ld", (long)getpid());
	settings_deinit();
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "daemon", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	bool check = false, daemonize = false;
	int opt;

	mainst.config_path = MAIN_DEFAULT_CONFIG;
	while ((opt = getopt_long(argc, argv, "c:ndhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': mainst.config_path = optarg; break;
		case 'n': check = true; break;
		case 'd': daemonize = true; break;
		case 'h': main_usage(stdout); return 0;
		case 'V': printf("postierd %s\n", POSTIER_VERSION); return 0;
		default: main_usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "postierd: unexpected argument %s\n", argv[optind]);
		main_usage(stderr);
		return 2;
	}

	char *error = NULL;
	struct postierd_settings *set = settings_load(mainst.config_path, &error);
	if (set == NULL) {
		fprintf(stderr, "%s\n", error);
		free(error);
		return 1;
	}
	if (check) {
		struct buf out;
		buf_init(&out);
		settings_print(set, &out);
		fwrite(buf_data(&out), 1, buf_len(&out), stdout);
		buf_clear(&out);
		settings_unref(&set);
		return 0;
	}

	signal(SIGPIPE, SIG_IGN);
	if (main_apply_log(set) < 0) {
		fprintf(stderr, "postierd: cannot open log_file %s: %s\n",
			set->log_file, strerror(errno));
		settings_unref(&set);
		return 1;
	}
	if (evthread_use_pthreads() < 0)
		log_fatal("evthread_use_pthreads failed");
	settings_set_current(set);

	main_start(set, daemonize);
	event_base_loop(mainst.base, EVLOOP_NO_EXIT_ON_EMPTY);
	for (int i = 0; i < MAIN_NSIGNALS; i++)
		event_free(mainst.sigs[i]);
	main_stop();
	event_base_free(mainst.base);
	libevent_global_shutdown();
	return 0;
}
