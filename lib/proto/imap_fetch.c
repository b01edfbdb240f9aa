/* imap_fetch.c: FETCH attribute parsing (grammar in imap_fetch.h). */
#include "postier.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "proto/imap_fetch.h"

void
imap_fetch_init(struct imap_fetch *f)
{
	memset(f, 0, sizeof(*f));
}

void
imap_fetch_clear(struct imap_fetch *f)
{
	for (unsigned int i = 0; i < f->count; i++) {
		struct imap_fetch_att *a = &f->atts[i];
		for (unsigned int j = 0; j < a->n_fields; j++)
			free(a->fields[j]);
		free(a->fields);
		free(a->name);
	}
	free(f->atts);
	imap_fetch_init(f);
}

static struct imap_fetch_att *
imap_fetch_add(struct imap_fetch *f, enum imap_fetch_item item,
	const char *name)
{
	f->atts = xrealloc(f->atts, (f->count + 1) * sizeof(*f->atts));
	struct imap_fetch_att *a = &f->atts[f->count++];
	memset(a, 0, sizeof(*a));
	a->item = item;
	a->name = xstrdup(name);
	if (item == IMAP_FETCH_RFC822 || item == IMAP_FETCH_RFC822_TEXT)
		f->sets_seen = true;
	return a;
}

static bool
imap_prefix(const char **s, const char *word)
{
	size_t n = strlen(word);
	if (strncasecmp(*s, word, n) != 0)
		return false;
	*s += n;
	return true;
}

/* Header field names of "(A B C)" at s; s ends at ')'. */
static int
imap_section_fields(struct imap_fetch_att *a, const char **sp, struct buf *name,
	const char **error_r)
{
	const char *s = *sp;
	if (*s++ != ' ' || *s++ != '(') {
		*error_r = "Missing header field list";
		return -1;
	}
	buf_append_str(name, " (");
	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == ')')
			break;
		const char *start = s;
		bool quoted = *s == '"';
		if (quoted) {
			start = ++s;
			while (*s != '\0' && *s != '"')
				s++;
		} else {
			/* RFC 5322 3.6.8: ftext = %d33-57 / %d59-126 */
			while ((unsigned char)*s > 32 && (unsigned char)*s < 127 &&
			       *s != ':' && *s != ')' && *s != '(')
				s++;
		}
		if (s == start || (quoted && *s != '"')) {
			*error_r = "Invalid header field name";
			return -1;
		}
		if (a->n_fields >= IMAP_FETCH_MAX_FIELDS) {
			*error_r = "Too many header fields";
			return -1;
		}
		a->fields = xrealloc(a->fields,
			(a->n_fields + 1) * sizeof(*a->fields));
		char *f = xstrndup(start, (size_t)(s - start));
		for (char *c = f; *c != '\0'; c++)
			*c = (char)toupper((unsigned char)*c);
		if (a->n_fields > 0)
			buf_append_char(name, ' ');
		buf_append_str(name, f);
		a->fields[a->n_fields++] = f;
		if (quoted)
			s++;
	}
	if (a->n_fields == 0) {
		*error_r = "Empty header field list";
		return -1;
	}
	buf_append_char(name, ')');
	*sp = s + 1;
	return 0;
}

/* The text after "BODY[" / "BODY.PEEK[" up to the end of the atom. */
static int
imap_section_parse(struct imap_fetch_att *a, const char *s, struct buf *name,
	const char **error_r)
{
	bool need_text = true;
	while (isdigit((unsigned char)*s)) {
		uint64_t n = 0;
		if (*s == '0') {
			*error_r = "Invalid section part 0";
			return -1;
		}
		while (isdigit((unsigned char)*s)) {
			n = n * 10 + (uint64_t)(*s++ - '0');
			if (n > UINT32_MAX) {
				*error_r = "Section part too large";
				return -1;
			}
		}
		if (a->n_parts >= IMAP_SECTION_MAX_PARTS) {
			*error_r = "Section nested too deep";
			return -1;
		}
		a->parts[a->n_parts++] = (uint32_t)n;
		buf_printf(name, "%u", (unsigned int)n);
		if (*s != '.') {
			need_text = false;
			break;
		}
		s++;
		buf_append_char(name, '.');
		if (!isdigit((unsigned char)*s))
			break;
	}
	if (need_text && *s != ']') {
		if (imap_prefix(&s, "HEADER.FIELDS.NOT")) {
			a->spec = IMAP_SECTION_HEADER_FIELDS_NOT;
			buf_append_str(name, "HEADER.FIELDS.NOT");
			if (imap_section_fields(a, &s, name, error_r) < 0)
				return -1;
		} else if (imap_prefix(&s, "HEADER.FIELDS")) {
			a->spec = IMAP_SECTION_HEADER_FIELDS;
			buf_append_str(name, "HEADER.FIELDS");
			if (imap_section_fields(a, &s, name, error_r) < 0)
				return -1;
		} else if (imap_prefix(&s, "HEADER")) {
			a->spec = IMAP_SECTION_HEADER;
			buf_append_str(name, "HEADER");
		} else if (imap_prefix(&s, "TEXT")) {
			a->spec = IMAP_SECTION_TEXT;
			buf_append_str(name, "TEXT");
		} else if (a->n_parts > 0 && imap_prefix(&s, "MIME")) {
			a->spec = IMAP_SECTION_MIME;
			buf_append_str(name, "MIME");
		} else {
			*error_r = "Invalid section";
			return -1;
		}
	} else if (need_text && a->n_parts > 0) {
		*error_r = "Invalid section";
		return -1;
	}
	if (*s++ != ']') {
		*error_r = "Invalid section";
		return -1;
	}
	buf_append_char(name, ']');
	if (*s == '\0')
		return 0;
	/* "<" number "." nz-number ">" */
	if (*s++ != '<') {
		*error_r = "Invalid fetch attribute";
		return -1;
	}
	uint64_t off = 0, len = 0;
	int digits = 0;
	while (isdigit((unsigned char)*s) && digits++ < 10)
		off = off * 10 + (uint64_t)(*s++ - '0');
	if (digits == 0 || off > UINT32_MAX || *s++ != '.') {
		*error_r = "Invalid partial";
		return -1;
	}
	digits = 0;
	while (isdigit((unsigned char)*s) && digits++ < 10)
		len = len * 10 + (uint64_t)(*s++ - '0');
	if (digits == 0 || len == 0 || len > UINT32_MAX || *s++ != '>' ||
	    *s != '\0') {
		*error_r = "Invalid partial";
		return -1;
	}
	a->partial = true;
	a->offset = off;
	a->length = len;
	/* RFC 3501 7.4.2: the response names only the origin */
	buf_printf(name, "<%llu>", (unsigned long long)off);
	return 0;
}

static int
imap_fetch_att_parse(struct imap_fetch *f, const char *s, const char **error_r)
{
	static const struct {
		const char *name;
		enum imap_fetch_item item;
	} simple[] = {
		{ "FLAGS", IMAP_FETCH_FLAGS },
		{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
		{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
		{ "UID", IMAP_FETCH_UID },
		{ "ENVELOPE", IMAP_FETCH_ENVELOPE },
		{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
		{ "BODY", IMAP_FETCH_BODY },
		{ "RFC822", IMAP_FETCH_RFC822 },
		{ "RFC822.HEADER", IMAP_FETCH_RFC822_HEADER },
		{ "RFC822.TEXT", IMAP_FETCH_RFC822_TEXT },
	};
	if (f->count >= IMAP_FETCH_MAX_ATTS) {
		*error_r = "Too many fetch attributes";
		return -1;
	}
	for (size_t i = 0; i < N_ELEMENTS(simple); i++) {
		if (strcasecmp(s, simple[i].name) == 0) {
			imap_fetch_add(f, simple[i].item, simple[i].name);
			return 0;
		}
	}
	bool peek = false;
	const char *p = s;
	if (imap_prefix(&p, "BODY.PEEK["))
		peek = true;
	else if (!imap_prefix(&p, "BODY[")) {
		*error_r = "Unknown fetch attribute";
		return -1;
	}
	struct imap_fetch_att *a = imap_fetch_add(f, IMAP_FETCH_SECTION, "");
	a->peek = peek;
	if (!peek)
		f->sets_seen = true;
	struct buf name;
	buf_init(&name);
	buf_append_str(&name, "BODY[");
	int ret = imap_section_parse(a, p, &name, error_r);
	free(a->name);
	a->name = buf_steal(&name);
	return ret;
}

int
imap_fetch_parse(struct imap_fetch *f, const struct imap_arg *arg,
	const char **error_r)
{
	imap_fetch_clear(f);
	const char *s;
	if (imap_arg_get_atom(arg, &s)) {
		/* RFC 3501 6.4.5 macros */
		if (strcasecmp(s, "ALL") == 0 || strcasecmp(s, "FAST") == 0 ||
		    strcasecmp(s, "FULL") == 0) {
			imap_fetch_add(f, IMAP_FETCH_FLAGS, "FLAGS");
			imap_fetch_add(f, IMAP_FETCH_INTERNALDATE,
				"INTERNALDATE");
			imap_fetch_add(f, IMAP_FETCH_RFC822_SIZE,
				"RFC822.SIZE");
			if (strcasecmp(s, "FAST") != 0)
				imap_fetch_add(f, IMAP_FETCH_ENVELOPE,
					"ENVELOPE");
			if (strcasecmp(s, "FULL") == 0)
				imap_fetch_add(f, IMAP_FETCH_BODY, "BODY");
			return 0;
		}
		return imap_fetch_att_parse(f, s, error_r);
	}
	const struct imap_arg *list;
	unsigned int count;
	if (!imap_arg_get_list(arg, &list, &count) || count == 0) {
		*error_r = "Invalid fetch attributes";
		return -1;
	}
	for (unsigned int i = 0; i < count; i++) {
		if (!imap_arg_get_atom(&list[i], &s)) {
			*error_r = "Invalid fetch attribute";
			return -1;
		}
		if (imap_fetch_att_parse(f, s, error_r) < 0)
			return -1;
	}
	return 0;
}
