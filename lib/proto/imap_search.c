/* imap_search.c: SEARCH key parsing (grammar in imap_search.h). Matching
 * is the mailbox side's job (it knows flags, headers and bodies). */
#include "postier.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/xmalloc.h"
#include "proto/imap_date.h"
#include "proto/imap_search.h"

struct imap_search_ctx {
	unsigned int keys;
	const char *error;
};

static void
imap_search_key_clear(struct imap_search_key *k)
{
	for (unsigned int i = 0; i < k->n_children; i++)
		imap_search_key_clear(&k->children[i]);
	free(k->children);
	imap_seqset_clear(&k->seqset);
}

void
imap_search_free(struct imap_search_key **kp)
{
	if (*kp == NULL)
		return;
	imap_search_key_clear(*kp);
	free(*kp);
	*kp = NULL;
}

static struct imap_search_key *
imap_search_child(struct imap_search_key *parent)
{
	parent->children = xrealloc(parent->children,
		(parent->n_children + 1) * sizeof(*parent->children));
	struct imap_search_key *k = &parent->children[parent->n_children++];
	memset(k, 0, sizeof(*k));
	imap_seqset_init(&k->seqset);
	return k;
}

static int imap_search_one(struct imap_search_ctx *ctx,
	const struct imap_arg **argp, struct imap_search_key *k,
	unsigned int depth);

static int
imap_search_astring(struct imap_search_ctx *ctx, const struct imap_arg **argp,
	const char **str_r)
{
	if (!imap_arg_get_astring(*argp, str_r, NULL)) {
		ctx->error = "Missing search string";
		return -1;
	}
	(*argp)++;
	return 0;
}

static int
imap_search_date(struct imap_search_ctx *ctx, const struct imap_arg **argp,
	time_t *t_r)
{
	const char *s;
	if (!imap_arg_get_astring(*argp, &s, NULL) ||
	    imap_date_parse(s, t_r) < 0) {
		ctx->error = "Invalid search date";
		return -1;
	}
	(*argp)++;
	return 0;
}

static int
imap_search_number(struct imap_search_ctx *ctx, const struct imap_arg **argp,
	uint64_t *n_r)
{
	const char *s;
	if (!imap_arg_get_atom(*argp, &s) || *s == '\0') {
		ctx->error = "Invalid search number";
		return -1;
	}
	uint64_t n = 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || n > (UINT64_MAX - 9) / 10) {
			ctx->error = "Invalid search number";
			return -1;
		}
		n = n * 10 + (uint64_t)(*s - '0');
	}
	(*argp)++;
	*n_r = n;
	return 0;
}

static int
imap_search_list(struct imap_search_ctx *ctx, const struct imap_arg *args,
	struct imap_search_key *k, unsigned int depth)
{
	k->type = IMAP_SEARCH_AND;
	if (args->type == IMAP_ARG_EOL) {
		ctx->error = "Missing search key";
		return -1;
	}
	while (args->type != IMAP_ARG_EOL) {
		if (imap_search_one(ctx, &args, imap_search_child(k),
				    depth + 1) < 0)
			return -1;
	}
	return 0;
}

static int
imap_search_one(struct imap_search_ctx *ctx, const struct imap_arg **argp,
	struct imap_search_key *k, unsigned int depth)
{
	static const struct {
		const char *name;
		enum imap_search_type type;
		unsigned int flag;
	} flags[] = {
		{ "ALL", IMAP_SEARCH_ALL, 0 },
		{ "ANSWERED", IMAP_SEARCH_FLAG, IMAP_FLAG_ANSWERED },
		{ "DELETED", IMAP_SEARCH_FLAG, IMAP_FLAG_DELETED },
		{ "DRAFT", IMAP_SEARCH_FLAG, IMAP_FLAG_DRAFT },
		{ "FLAGGED", IMAP_SEARCH_FLAG, IMAP_FLAG_FLAGGED },
		{ "SEEN", IMAP_SEARCH_FLAG, IMAP_FLAG_SEEN },
		{ "RECENT", IMAP_SEARCH_RECENT, 0 },
		{ "NEW", IMAP_SEARCH_NEW, 0 },
		{ "OLD", IMAP_SEARCH_OLD, 0 },
		{ "UNANSWERED", IMAP_SEARCH_NOFLAG, IMAP_FLAG_ANSWERED },
		{ "UNDELETED", IMAP_SEARCH_NOFLAG, IMAP_FLAG_DELETED },
		{ "UNDRAFT", IMAP_SEARCH_NOFLAG, IMAP_FLAG_DRAFT },
		{ "UNFLAGGED", IMAP_SEARCH_NOFLAG, IMAP_FLAG_FLAGGED },
		{ "UNSEEN", IMAP_SEARCH_NOFLAG, IMAP_FLAG_SEEN },
	};
	static const struct {
		const char *name, *header;
	} headers[] = {
		{ "BCC", "BCC" }, { "CC", "CC" }, { "FROM", "FROM" },
		{ "SUBJECT", "SUBJECT" }, { "TO", "TO" },
	};
	static const struct {
		const char *name;
		enum imap_search_type type;
	} dates[] = {
		{ "BEFORE", IMAP_SEARCH_BEFORE }, { "ON", IMAP_SEARCH_ON },
		{ "SINCE", IMAP_SEARCH_SINCE },
		{ "SENTBEFORE", IMAP_SEARCH_SENTBEFORE },
		{ "SENTON", IMAP_SEARCH_SENTON },
		{ "SENTSINCE", IMAP_SEARCH_SENTSINCE },
	};
	const struct imap_arg *arg = *argp;
	if (depth > IMAP_SEARCH_MAX_DEPTH) {
		ctx->error = "Search keys nested too deep";
		return -1;
	}
	if (++ctx->keys > IMAP_SEARCH_MAX_KEYS) {
		ctx->error = "Too many search keys";
		return -1;
	}
	imap_seqset_init(&k->seqset);
	const struct imap_arg *list;
	if (imap_arg_get_list(arg, &list, NULL)) {
		*argp = arg + 1;
		return imap_search_list(ctx, list, k, depth);
	}
	const char *s;
	if (!imap_arg_get_atom(arg, &s)) {
		ctx->error = arg->type == IMAP_ARG_EOL ? "Missing search key" :
			"Invalid search key";
		return -1;
	}
	*argp = ++arg;
	for (size_t i = 0; i < N_ELEMENTS(flags); i++) {
		if (strcasecmp(s, flags[i].name) == 0) {
			k->type = flags[i].type;
			k->flag_bit = flags[i].flag;
			return 0;
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(headers); i++) {
		if (strcasecmp(s, headers[i].name) == 0) {
			k->type = IMAP_SEARCH_HEADER;
			k->str = headers[i].header;
			return imap_search_astring(ctx, argp, &k->str2);
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(dates); i++) {
		if (strcasecmp(s, dates[i].name) == 0) {
			k->type = dates[i].type;
			return imap_search_date(ctx, argp, &k->date);
		}
	}
	if (strcasecmp(s, "HEADER") == 0) {
		k->type = IMAP_SEARCH_HEADER;
		if (imap_search_astring(ctx, argp, &k->str) < 0)
			return -1;
		return imap_search_astring(ctx, argp, &k->str2);
	}
	if (strcasecmp(s, "BODY") == 0 || strcasecmp(s, "TEXT") == 0) {
		k->type = strcasecmp(s, "BODY") == 0 ? IMAP_SEARCH_BODY :
			IMAP_SEARCH_TEXT;
		return imap_search_astring(ctx, argp, &k->str);
	}
	if (strcasecmp(s, "KEYWORD") == 0 || strcasecmp(s, "UNKEYWORD") == 0) {
		k->type = strcasecmp(s, "KEYWORD") == 0 ?
			IMAP_SEARCH_KEYWORD : IMAP_SEARCH_UNKEYWORD;
		if (!imap_arg_get_atom(*argp, &k->str)) {
			ctx->error = "Invalid keyword";
			return -1;
		}
		(*argp)++;
		return 0;
	}
	if (strcasecmp(s, "LARGER") == 0 || strcasecmp(s, "SMALLER") == 0) {
		k->type = strcasecmp(s, "LARGER") == 0 ? IMAP_SEARCH_LARGER :
			IMAP_SEARCH_SMALLER;
		return imap_search_number(ctx, argp, &k->number);
	}
	if (strcasecmp(s, "NOT") == 0) {
		k->type = IMAP_SEARCH_NOT;
		return imap_search_one(ctx, argp, imap_search_child(k),
			depth + 1);
	}
	if (strcasecmp(s, "OR") == 0) {
		k->type = IMAP_SEARCH_OR;
		if (imap_search_one(ctx, argp, imap_search_child(k),
				    depth + 1) < 0)
			return -1;
		return imap_search_one(ctx, argp, imap_search_child(k),
			depth + 1);
	}
	if (strcasecmp(s, "UID") == 0) {
		k->type = IMAP_SEARCH_UID;
		const char *set;
		if (!imap_arg_get_atom(*argp, &set) ||
		    imap_seqset_parse(&k->seqset, set, 100000,
			    &ctx->error) < 0) {
			if (ctx->error == NULL)
				ctx->error = "Invalid UID set";
			return -1;
		}
		(*argp)++;
		return 0;
	}
	if ((*s >= '1' && *s <= '9') || *s == '*') {
		k->type = IMAP_SEARCH_SEQSET;
		return imap_seqset_parse(&k->seqset, s, 100000, &ctx->error);
	}
	ctx->error = "Unknown search key";
	return -1;
}

int
imap_search_parse(const struct imap_arg *args, struct imap_search_key **key_r,
	const char **error_r)
{
	struct imap_search_ctx ctx = { 0, NULL };
	struct imap_search_key *k = xcalloc(1, sizeof(*k));
	imap_seqset_init(&k->seqset);
	if (imap_search_list(&ctx, args, k, 0) < 0) {
		imap_search_free(&k);
		*error_r = ctx.error != NULL ? ctx.error : "Invalid search";
		return -1;
	}
	*key_r = k;
	return 0;
}
