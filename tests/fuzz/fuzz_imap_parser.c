/* fuzz_imap_parser.c: the IMAP command parser fed arbitrary bytes in
 * arbitrary pieces, then each complete command's arguments given to the
 * sequence set, fetch and search readers. The first byte picks the piece
 * size so splits are explored too. */
#include "postier.h"

#include <stdint.h>
#include <stdlib.h>

#include "proto/imap_fetch.h"
#include "proto/imap_parser.h"
#include "proto/imap_search.h"
#include "proto/imap_seqset.h"

static void
fuzz_command(struct imap_parser *p)
{
	const struct imap_arg *args = imap_parser_args(p, NULL);
	const char *error, *s;
	struct imap_seqset set, res;
	imap_seqset_init(&set);
	imap_seqset_init(&res);
	if (imap_arg_get_atom(&args[0], &s) &&
	    imap_seqset_parse(&set, s, 1000, &error) == 0) {
		imap_seqset_resolve(&set, 100, &res);
		(void)imap_seqset_contains(&res, 50);
	}
	imap_seqset_clear(&set);
	imap_seqset_clear(&res);
	if (args[0].type != IMAP_ARG_EOL) {
		struct imap_fetch f;
		imap_fetch_init(&f);
		(void)imap_fetch_parse(&f, &args[1 - (args[1].type ==
			IMAP_ARG_EOL)], &error);
		imap_fetch_clear(&f);
	}
	struct imap_search_key *key = NULL;
	if (imap_search_parse(args, &key, &error) == 0)
		imap_search_free(&key);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = data[0] == 0 ? size : data[0];
	data++;
	size--;
	struct imap_parser_limits limits = {
		.max_line_bytes = 1024, .max_literal_bytes = 4096,
		.max_args = 256, .max_depth = 8,
	};
	struct imap_parser *p = imap_parser_new(&limits);
	size_t pos = 0;
	while (pos < size) {
		size_t n = size - pos < step ? size - pos : step, used;
		int ret = imap_parser_parse(p, data + pos, n, &used);
		pos += used;
		uint64_t lsize;
		bool sync;
		(void)imap_parser_literal_begins(p, &lsize, &sync);
		if (ret == 1) {
			fuzz_command(p);
			imap_parser_reset(p);
		} else if (ret < 0) {
			bool fatal;
			(void)imap_parser_error(p, NULL, &fatal);
			imap_parser_reset(p);
			if (fatal)
				break;
		} else if (used == 0 && n > 0) {
			abort(); /* no progress: a bug */
		}
	}
	imap_parser_free(&p);
	return 0;
}
