/* check_postier_ha: asks postier-ha for its status on the local control
 * socket (or reads a status snapshot from a file) and checks that exactly
 * one node of the pair is MASTER. Until the HA agent is installed the
 * socket does not exist and the check says UNKNOWN "HA agent not
 * available". The status format is in ha_status.h and docs/plugins.md. */
#include "postier.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "ha_status.h"
#include "plugin.h"

#define HA_DEFAULT_SOCKET "/run/postier-ha/control.sock"
#define HA_MAX_STATUS_BYTES 65536

enum { OPT_SOCKET = 'S', OPT_STATUS_FILE = 4000 };

struct ha_check {
	const char *socket_path;
	const char *status_file;
	struct buf text;
};

static const struct plugin_option ha_options[] = {
	{ "socket", OPT_SOCKET, true, "PATH",
		"postier-ha control socket (default " HA_DEFAULT_SOCKET ")" },
	{ "status-file", OPT_STATUS_FILE, true, "PATH",
		"Read a status snapshot from PATH instead of the socket" },
};

static int
on_option(struct plugin *p, int key, const char *arg, void *context)
{
	struct ha_check *h = context;
	(void)p;
	if (key == OPT_SOCKET)
		h->socket_path = arg;
	else if (key == OPT_STATUS_FILE)
		h->status_file = arg;
	else
		return -1;
	return 0;
}

static void
cleanup(void *context)
{
	struct ha_check *h = context;
	buf_clear(&h->text);
}

/* Reads fd to the end (or HA_MAX_STATUS_BYTES). Returns 0 or -1. */
static int
read_all(int fd, struct buf *out)
{
	for (;;) {
		char *dst = buf_reserve(out, 4096);
		ssize_t n = read(fd, dst, 4096);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return 0;
		buf_commit(out, (size_t)n);
		if (buf_len(out) > HA_MAX_STATUS_BYTES) {
			errno = EMSGSIZE;
			return -1;
		}
		/* the answer ends at an empty line */
		if (buf_len(out) >= 2 && strstr(buf_data(out), "\n\n") != NULL)
			return 0;
	}
}

int
main(int argc, char **argv)
{
	struct plugin p;
	struct ha_check h;

	memset(&h, 0, sizeof(h));
	buf_init(&h.text);
	h.socket_path = HA_DEFAULT_SOCKET;
	plugin_init(&p, "check_postier_ha", "POSTIER_HA");
	p.usage = "[-S SOCKET | --status-file PATH]";
	p.blurb = "Checks the postier-ha pair: CRITICAL when no node or both "
		"nodes are MASTER,\nWARNING when the pair has no working standby "
		"or a heartbeat link is down.\nUNKNOWN \"HA agent not available\" "
		"when the control socket is absent.";
	p.cleanup = cleanup;
	p.cleanup_context = &h;
	plugin_parse_args(&p, argc, argv, 0, ha_options,
		N_ELEMENTS(ha_options), on_option, &h);
	plugin_start_timer(&p);

	if (h.status_file != NULL) {
		plugin_phase("read status file");
		int fd = open(h.status_file, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || read_all(fd, &h.text) < 0) {
			int err = errno;
			if (fd >= 0)
				close(fd);
			plugin_exit(&p, PLUGIN_STATE_UNKNOWN, "cannot read %s: %s",
				h.status_file, strerror(err));
		}
		close(fd);
	} else {
		struct sockaddr_un sun;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(h.socket_path) >= sizeof(sun.sun_path))
			plugin_usage_error(&p, "socket path too long");
		strcpy(sun.sun_path, h.socket_path);
		plugin_phase("connect to the HA agent");
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			plugin_exit(&p, PLUGIN_STATE_UNKNOWN, "socket: %s",
				strerror(errno));
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			int err = errno;
			close(fd);
			plugin_exit(&p, PLUGIN_STATE_UNKNOWN,
				"HA agent not available (%s: %s)",
				h.socket_path, strerror(err));
		}
		plugin_phase("HA agent status");
		static const char req[] = "status\n";
		if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1 ||
		    read_all(fd, &h.text) < 0) {
			int err = errno;
			close(fd);
			plugin_exit(&p, PLUGIN_STATE_CRITICAL,
				"HA agent at %s: %s", h.socket_path,
				strerror(err));
		}
		close(fd);
	}
	plugin_debug(&p, 3, "%s", buf_data(&h.text));

	struct ha_status st;
	const char *why;
	if (ha_status_parse(buf_data(&h.text), buf_len(&h.text), &st,
	    &why) < 0)
		plugin_exit(&p, PLUGIN_STATE_UNKNOWN, "unreadable HA status: %s",
			why);
	struct buf text;
	buf_init(&text);
	int masters;
	enum plugin_state state = ha_status_evaluate(&st, &text, &masters);
	struct threshold one;
	threshold_init(&one);
	(void)threshold_range_parse("1:1", &one.crit, &why);
	one.has_crit = true;
	plugin_perf_add(&p, "masters", masters, "", &one, 0, 2);
	if (st.links_total > 0)
		plugin_perf_add(&p, "links_up", (double)st.links_up, "", NULL,
			0, (double)st.links_total);
	if (st.peer_seen_ms >= 0)
		plugin_perf_add(&p, "peer_seen", (double)st.peer_seen_ms / 1000,
			"s", NULL, 0, NAN);
	plugin_exit_owned(&p, state, buf_steal(&text));
}
