/* ha_status.h: the HA agent's status as check_postier_ha reads it, and the
 * verdict on it. The format (docs/plugins.md, "HA status format") is what
 * postier-ha answers on its control socket to the line "status", one
 * key=value per line, ending at an empty line or end of input:
 *
 *   postier-ha-status 1
 *   node=mx1              this node's name
 *   state=MASTER          INIT, BACKUP, MASTER, FAULT or MAINTENANCE
 *   peer=mx2              the peer's name
 *   peer_state=BACKUP     the state the peer last announced, or UNKNOWN
 *   peer_seen_ms=250      ms since the peer's last valid heartbeat, -1 never
 *   dead_time_ms=3000     silence after which the peer counts as dead
 *   links_up=2            heartbeat links that carried a valid heartbeat
 *   links_total=2         within the dead time, and all configured links
 *   fault_reasons=        comma-separated FAULT reasons (may be empty)
 *
 * Every line ends with LF (a last line without one is refused: an answer
 * cut short must not pass for a shorter value). Unknown keys are ignored
 * (later versions add keys, never change these).
 * Pure functions. */
#ifndef HA_STATUS_H
#define HA_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include "postier.h"
#include "core/buf.h"
#include "plugin.h"

#define HA_STATUS_NAME_MAX 64

enum ha_state {
	HA_STATE_UNKNOWN,
	HA_STATE_INIT,
	HA_STATE_BACKUP,
	HA_STATE_MASTER,
	HA_STATE_FAULT,
	HA_STATE_MAINTENANCE,
};

struct ha_status {
	char node[HA_STATUS_NAME_MAX];
	char peer[HA_STATUS_NAME_MAX];
	enum ha_state state;
	enum ha_state peer_state;
	long long peer_seen_ms;
	long long dead_time_ms;
	long long links_up, links_total;
	char fault_reasons[256];
};

/* Parses the status text. Returns 0, or -1 with a static reason in
 * *error_r (no header, unknown version, a required key missing or bad). */
int ha_status_parse(const char *text, size_t len, struct ha_status *st_r,
	const char **error_r);

const char *ha_state_name(enum ha_state state);

/* The verdict: CRITICAL when no node or both nodes are MASTER (a peer
 * silent for more than the dead time counts as not MASTER); WARNING when
 * exactly one is MASTER but the pair has no working standby (peer silent,
 * a node in FAULT or MAINTENANCE, a heartbeat link down); OK otherwise.
 * Writes the status text into text and returns the state; *masters_r gets
 * the number of MASTER nodes counted. */
enum plugin_state ha_status_evaluate(const struct ha_status *st,
	struct buf *text, int *masters_r);

#endif
