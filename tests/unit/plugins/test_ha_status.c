/* test_ha_status.c: the HA status format and the pair verdict of
 * check_postier_ha (nagios-plugins/common/ha_status.c), on the fixtures in
 * tests/unit/plugins/fixtures/ha/, each fed whole and cut at every byte (a
 * cut answer must never pass for a different verdict). */
#include "postier.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "ha_status.h"

static const struct {
	const char *file;
	int parse;            /* 0 or -1 */
	enum plugin_state state;
	int masters;
	const char *text;     /* substring of the status text */
} rows[] = {
	{ "normal.status", 0, PLUGIN_STATE_OK, 1, "mx1 MASTER, mx2 BACKUP" },
	{ "on_backup.status", 0, PLUGIN_STATE_OK, 1, "mx2 BACKUP, mx1 MASTER" },
	{ "split_brain.status", 0, PLUGIN_STATE_CRITICAL, 2,
		"both nodes MASTER" },
	{ "no_master.status", 0, PLUGIN_STATE_CRITICAL, 0,
		"no node is MASTER" },
	{ "peer_silent_master.status", 0, PLUGIN_STATE_WARNING, 1,
		"mx2 silent for 9.0 s: no standby" },
	{ "stale_peer_master.status", 0, PLUGIN_STATE_CRITICAL, 0,
		"no node is MASTER" },
	{ "fault_local.status", 0, PLUGIN_STATE_WARNING, 1,
		"standby not ready (local FAULT: health,tiebreaker)" },
	{ "fault_no_master.status", 0, PLUGIN_STATE_CRITICAL, 0,
		"no node is MASTER (local FAULT: health)" },
	{ "link_down.status", 0, PLUGIN_STATE_WARNING, 1,
		"1 of 2 heartbeat links down" },
	{ "never_seen.status", 0, PLUGIN_STATE_WARNING, 1, "mx2 silent" },
	{ "future_keys.status", 0, PLUGIN_STATE_OK, 1, "mx1 MASTER" },
	{ "bad_version.status", -1, 0, 0, NULL },
	{ "not_status.status", -1, 0, 0, NULL },
	{ "missing_key.status", -1, 0, 0, NULL },
	{ "bad_state.status", -1, 0, 0, NULL },
	{ "bad_number.status", -1, 0, 0, NULL },
	{ "empty.status", -1, 0, 0, NULL },
};

static char *
read_fixture(const char *name, size_t *len_r)
{
	const char *src = getenv("POSTIER_SOURCE_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/unit/plugins/fixtures/ha/%s",
		src != NULL ? src : ".", name);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s (set POSTIER_SOURCE_DIR)", path);
	struct buf b;
	buf_init(&b);
	char chunk[1024];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	*len_r = buf_len(&b);
	return buf_steal(&b);
}

static void
test_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEMENTS(rows); i++) {
		size_t len;
		char *text = read_fixture(rows[i].file, &len);
		struct ha_status st;
		const char *why = NULL;
		int ret = ha_status_parse(text, len, &st, &why);
		if (ret != rows[i].parse)
			fail_msg("row '%s': parse %d (%s)", rows[i].file, ret,
				why ? why : "");
		if (ret == 0) {
			struct buf out;
			int masters = -1;
			buf_init(&out);
			enum plugin_state s = ha_status_evaluate(&st, &out,
				&masters);
			if (s != rows[i].state || masters != rows[i].masters ||
			    strstr(buf_data(&out), rows[i].text) == NULL)
				fail_msg("row '%s': state %d masters %d text "
					"'%s'", rows[i].file, s, masters,
					buf_data(&out));
			buf_clear(&out);
		}
		/* cut short inside a line (before the answer's blank end
		 * line): always refused */
		const char *end = strstr(text, "\n\n");
		const char *end_crlf = strstr(text, "\r\n\r\n");
		size_t answer_len = end_crlf != NULL ?
			(size_t)(end_crlf - text) : end != NULL ?
			(size_t)(end - text) : len;
		for (size_t cut = 1; cut < answer_len; cut++) {
			struct ha_status st2;
			if (text[cut - 1] == '\n')
				continue;
			if (ha_status_parse(text, cut, &st2, &why) == 0)
				fail_msg("row '%s': cut at %zu parses",
					rows[i].file, cut);
		}
		free(text);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
