/* ha_status.c: parse the HA agent's status lines and judge the pair. */
#include "postier.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ha_status.h"

static const char *const ha_state_names[] = {
	"UNKNOWN", "INIT", "BACKUP", "MASTER", "FAULT", "MAINTENANCE",
};

const char *
ha_state_name(enum ha_state state)
{
	return (unsigned)state < N_ELEMENTS(ha_state_names) ?
		ha_state_names[state] : "UNKNOWN";
}

static int
parse_state(const char *v, enum ha_state *state_r)
{
	for (size_t i = 0; i < N_ELEMENTS(ha_state_names); i++) {
		if (strcmp(v, ha_state_names[i]) == 0) {
			*state_r = (enum ha_state)i;
			return 0;
		}
	}
	return -1;
}

static int
parse_ll(const char *v, long long *r)
{
	char *end;
	if (*v == '\0')
		return -1;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*r = n;
	return 0;
}

static int
copy_value(char *dst, size_t size, const char *v)
{
	size_t n = strlen(v);
	if (n >= size)
		return -1;
	memcpy(dst, v, n + 1);
	return 0;
}

enum {
	SEEN_NODE = 1 << 0,
	SEEN_STATE = 1 << 1,
	SEEN_PEER_STATE = 1 << 2,
	SEEN_PEER_SEEN = 1 << 3,
	SEEN_DEAD_TIME = 1 << 4,
	SEEN_REQUIRED = (1 << 5) - 1,
};

int
ha_status_parse(const char *text, size_t len, struct ha_status *st_r,
	const char **error_r)
{
	struct ha_status st;
	unsigned seen = 0;
	size_t pos = 0;
	bool header = false;

	memset(&st, 0, sizeof(st));
	st.peer_seen_ms = -1;
	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		if (nl == NULL) {
			/* a cut answer must not pass for a shorter value */
			*error_r = "unterminated line";
			return -1;
		}
		size_t n = (size_t)(nl - line);
		pos += n + 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0) {
			if (header)
				break; /* end of the answer */
			continue;
		}
		char buf[512];
		if (n >= sizeof(buf)) {
			*error_r = "line too long";
			return -1;
		}
		memcpy(buf, line, n);
		buf[n] = '\0';
		if (!header) {
			if (strcmp(buf, "postier-ha-status 1") != 0) {
				*error_r = strncmp(buf, "postier-ha-status ",
					18) == 0 ? "unknown status version" :
					"not a postier-ha status";
				return -1;
			}
			header = true;
			continue;
		}
		char *eq = strchr(buf, '=');
		if (eq == NULL) {
			*error_r = "line without '='";
			return -1;
		}
		*eq = '\0';
		const char *k = buf, *v = eq + 1;
		int bad = 0;
		if (strcmp(k, "node") == 0) {
			bad = copy_value(st.node, sizeof(st.node), v);
			seen |= SEEN_NODE;
		} else if (strcmp(k, "peer") == 0) {
			bad = copy_value(st.peer, sizeof(st.peer), v);
		} else if (strcmp(k, "state") == 0) {
			bad = parse_state(v, &st.state);
			seen |= SEEN_STATE;
		} else if (strcmp(k, "peer_state") == 0) {
			bad = parse_state(v, &st.peer_state);
			seen |= SEEN_PEER_STATE;
		} else if (strcmp(k, "peer_seen_ms") == 0) {
			bad = parse_ll(v, &st.peer_seen_ms);
			seen |= SEEN_PEER_SEEN;
		} else if (strcmp(k, "dead_time_ms") == 0) {
			bad = parse_ll(v, &st.dead_time_ms);
			if (bad == 0 && st.dead_time_ms <= 0)
				bad = -1;
			seen |= SEEN_DEAD_TIME;
		} else if (strcmp(k, "links_up") == 0) {
			bad = parse_ll(v, &st.links_up);
		} else if (strcmp(k, "links_total") == 0) {
			bad = parse_ll(v, &st.links_total);
		} else if (strcmp(k, "fault_reasons") == 0) {
			bad = copy_value(st.fault_reasons,
				sizeof(st.fault_reasons), v);
		}
		if (bad != 0) {
			*error_r = "bad value";
			return -1;
		}
	}
	if (!header) {
		*error_r = "empty status";
		return -1;
	}
	if ((seen & SEEN_REQUIRED) != SEEN_REQUIRED) {
		*error_r = "a required key is missing (node, state, "
			"peer_state, peer_seen_ms, dead_time_ms)";
		return -1;
	}
	*st_r = st;
	return 0;
}

enum plugin_state
ha_status_evaluate(const struct ha_status *st, struct buf *text,
	int *masters_r)
{
	const char *peer = st->peer[0] != '\0' ? st->peer : "peer";
	bool peer_alive = st->peer_seen_ms >= 0 &&
		st->peer_seen_ms <= st->dead_time_ms;
	int masters = (st->state == HA_STATE_MASTER) +
		(peer_alive && st->peer_state == HA_STATE_MASTER);

	*masters_r = masters;
	buf_printf(text, "%s %s, %s %s", st->node, ha_state_name(st->state),
		peer, peer_alive ? ha_state_name(st->peer_state) : "silent");
	if (!peer_alive && st->peer_seen_ms >= 0)
		buf_printf(text, " for %.1f s", (double)st->peer_seen_ms / 1000);
	if (masters == 2) {
		buf_append_str(text, ": both nodes MASTER (split brain)");
		return PLUGIN_STATE_CRITICAL;
	}
	if (masters == 0) {
		buf_append_str(text, ": no node is MASTER");
		if (st->state == HA_STATE_FAULT && st->fault_reasons[0] != '\0')
			buf_printf(text, " (local FAULT: %s)",
				st->fault_reasons);
		return PLUGIN_STATE_CRITICAL;
	}
	enum plugin_state state = PLUGIN_STATE_OK;
	if (!peer_alive) {
		buf_append_str(text, ": no standby");
		state = PLUGIN_STATE_WARNING;
	} else if (st->state == HA_STATE_FAULT ||
	    st->peer_state == HA_STATE_FAULT ||
	    st->state == HA_STATE_MAINTENANCE ||
	    st->peer_state == HA_STATE_MAINTENANCE ||
	    st->state == HA_STATE_INIT || st->peer_state == HA_STATE_INIT) {
		buf_append_str(text, ": standby not ready");
		if (st->state == HA_STATE_FAULT && st->fault_reasons[0] != '\0')
			buf_printf(text, " (local FAULT: %s)",
				st->fault_reasons);
		state = PLUGIN_STATE_WARNING;
	}
	if (st->links_total > 0 && st->links_up < st->links_total) {
		buf_printf(text, "%s%lld of %lld heartbeat links down",
			state == PLUGIN_STATE_OK ? ": " : ", ",
			st->links_total - st->links_up, st->links_total);
		state = PLUGIN_STATE_WARNING;
	}
	return state;
}
