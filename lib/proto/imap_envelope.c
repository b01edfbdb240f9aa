/* imap_envelope.c: ENVELOPE and BODYSTRUCTURE (grammar in the header). */
#include "postier.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "proto/imap_envelope.h"

void
imap_append_string(struct buf *out, const char *s, size_t len)
{
	bool quote = len < 1024;
	for (size_t i = 0; i < len && quote; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n' || c == 0 || c >= 0x80)
			quote = false;
	}
	if (!quote) {
		buf_printf(out, "{%zu}\r\n", len);
		buf_append(out, s, len);
		return;
	}
	buf_append_char(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_append_char(out, '\\');
		buf_append_char(out, s[i]);
	}
	buf_append_char(out, '"');
}

void
imap_append_nstring(struct buf *out, const char *s)
{
	if (s == NULL)
		buf_append_str(out, "NIL");
	else
		imap_append_string(out, s, strlen(s));
}

/* --- addresses (RFC 5322 3.4) --- */

static void
imap_trim_append(struct buf *b, const char *s, size_t len)
{
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	buf_append(b, s, len);
}

/* Reads a phrase (display name) from [s, e): quoted strings unquoted,
 * comments dropped, runs of white space folded. */
static void
imap_phrase(const char *s, const char *e, struct buf *out)
{
	bool space = false;
	while (s < e) {
		if (*s == '"') {
			if (space && buf_len(out) > 0)
				buf_append_char(out, ' ');
			space = false;
			s++;
			while (s < e && *s != '"') {
				if (*s == '\\' && s + 1 < e)
					s++;
				buf_append_char(out, *s++);
			}
			s++;
		} else if (*s == '(') {
			int depth = 0;
			while (s < e) {
				if (*s == '\\' && s + 1 < e)
					s++;
				else if (*s == '(')
					depth++;
				else if (*s == ')' && --depth == 0) {
					s++;
					break;
				}
				s++;
			}
			space = true;
		} else if (isspace((unsigned char)*s)) {
			space = true;
			s++;
		} else {
			if (space && buf_len(out) > 0)
				buf_append_char(out, ' ');
			space = false;
			buf_append_char(out, *s++);
		}
	}
}

static void
imap_addr_emit(struct buf *out, const char *name, size_t name_len,
	const char *adl, size_t adl_len, const char *spec, size_t spec_len)
{
	struct buf clean;
	buf_init(&clean);
	/* an addr-spec without comments and spaces */
	imap_phrase(spec, spec + spec_len, &clean);
	const char *a = buf_data(&clean);
	const char *at = strrchr(a, '@');
	buf_append_char(out, '(');
	if (name != NULL && name_len > 0)
		imap_append_string(out, name, name_len);
	else
		buf_append_str(out, "NIL");
	buf_append_char(out, ' ');
	if (adl != NULL && adl_len > 0)
		imap_append_string(out, adl, adl_len);
	else
		buf_append_str(out, "NIL");
	buf_append_char(out, ' ');
	size_t local_len = at != NULL ? (size_t)(at - a) : strlen(a);
	if (local_len > 0)
		imap_append_string(out, a, local_len);
	else
		buf_append_str(out, "\"MISSING_MAILBOX\"");
	buf_append_char(out, ' ');
	if (at != NULL && at[1] != '\0')
		imap_append_string(out, at + 1, strlen(at + 1));
	else
		buf_append_str(out, "\"MISSING_DOMAIN\"");
	buf_append_char(out, ')');
	buf_clear(&clean);
}

/* One mailbox [s, e): "name <addr>" or "addr". */
static void
imap_mailbox(struct buf *out, const char *s, const char *e)
{
	const char *lt = NULL;
	bool quoted = false;
	for (const char *p = s; p < e; p++) {
		if (*p == '\\' && quoted) {
			p++;
			continue;
		}
		if (*p == '"')
			quoted = !quoted;
		else if (*p == '<' && !quoted) {
			lt = p;
			break;
		}
	}
	if (lt == NULL) {
		imap_addr_emit(out, NULL, 0, NULL, 0, s, (size_t)(e - s));
		return;
	}
	const char *gt = memchr(lt, '>', (size_t)(e - lt));
	if (gt == NULL)
		gt = e;
	struct buf name;
	buf_init(&name);
	imap_phrase(s, lt, &name);
	const char *spec = lt + 1;
	const char *adl = NULL;
	size_t adl_len = 0;
	/* obsolete route: "<@a,@b:user@host>" */
	if (*spec == '@') {
		const char *colon = memchr(spec, ':', (size_t)(gt - spec));
		if (colon != NULL) {
			adl = spec;
			adl_len = (size_t)(colon - spec);
			spec = colon + 1;
		}
	}
	imap_addr_emit(out, buf_len(&name) > 0 ? buf_data(&name) : NULL,
		buf_len(&name), adl, adl_len, spec, (size_t)(gt - spec));
	buf_clear(&name);
}

void
imap_address_list_append(struct buf *out, const char *value)
{
	size_t start_len = buf_len(out);
	buf_append_char(out, '(');
	bool any = false;
	const char *s = value;
	const char *item = s;
	bool quoted = false, in_angle = false, in_group = false;
	int comment = 0;
	for (;; s++) {
		char c = *s;
		if (c != '\0') {
			if (quoted) {
				if (c == '\\' && s[1] != '\0')
					s++;
				else if (c == '"')
					quoted = false;
				continue;
			}
			if (comment > 0) {
				if (c == '\\' && s[1] != '\0')
					s++;
				else if (c == '(')
					comment++;
				else if (c == ')')
					comment--;
				continue;
			}
			if (c == '"') {
				quoted = true;
				continue;
			}
			if (c == '(') {
				comment = 1;
				continue;
			}
			if (c == '<')
				in_angle = true;
			else if (c == '>')
				in_angle = false;
			if (in_angle)
				continue;
			if (c == ':' && !in_group) {
				/* group start: "name:" */
				struct buf name;
				buf_init(&name);
				imap_phrase(item, s, &name);
				buf_append_str(out, "(NIL NIL ");
				imap_append_string(out, buf_data(&name),
					buf_len(&name));
				buf_append_str(out, " NIL)");
				buf_clear(&name);
				any = true;
				in_group = true;
				item = s + 1;
				continue;
			}
			if (c != ',' && c != ';')
				continue;
		}
		/* end of an item */
		const char *a = item, *e = s;
		while (a < e && isspace((unsigned char)*a))
			a++;
		while (e > a && isspace((unsigned char)e[-1]))
			e--;
		if (e > a) {
			imap_mailbox(out, a, e);
			any = true;
		}
		if (c == ';' && in_group) {
			buf_append_str(out, "(NIL NIL NIL NIL)");
			in_group = false;
		}
		if (c == '\0')
			break;
		item = s + 1;
	}
	if (in_group)
		buf_append_str(out, "(NIL NIL NIL NIL)");
	if (!any) {
		buf_truncate(out, start_len);
		buf_append_str(out, "NIL");
		return;
	}
	buf_append_char(out, ')');
}

/* --- envelope --- */

static void
imap_env_string(struct buf *out, const char *data, const struct mime_part *p,
	const char *name)
{
	struct buf v;
	buf_init(&v);
	if (mime_header_get(data, p->hdr_off, p->hdr_len, name, &v) == 0) {
		buf_append_str(out, "NIL");
	} else {
		struct buf t;
		buf_init(&t);
		imap_trim_append(&t, buf_data(&v), buf_len(&v));
		imap_append_string(out, buf_data(&t), buf_len(&t));
		buf_clear(&t);
	}
	buf_clear(&v);
}

static bool
imap_env_addresses(struct buf *out, const char *data,
	const struct mime_part *p, const char *name)
{
	struct buf v;
	buf_init(&v);
	bool found = mime_header_get(data, p->hdr_off, p->hdr_len, name,
		&v) == 1;
	if (found)
		imap_address_list_append(out, buf_data(&v));
	else
		buf_append_str(out, "NIL");
	buf_clear(&v);
	return found;
}

void
imap_envelope_append(struct buf *out, const char *data,
	const struct mime_part *p)
{
	buf_append_char(out, '(');
	imap_env_string(out, data, p, "Date");
	buf_append_char(out, ' ');
	imap_env_string(out, data, p, "Subject");
	buf_append_char(out, ' ');
	/* RFC 3501 7.4.2: sender and reply-to default to from */
	size_t from_at = buf_len(out);
	imap_env_addresses(out, data, p, "From");
	size_t from_end = buf_len(out);
	char *from = xstrndup(buf_data(out) + from_at, from_end - from_at);
	static const char *const defaulted[] = { "Sender", "Reply-To" };
	for (size_t i = 0; i < N_ELEMENTS(defaulted); i++) {
		buf_append_char(out, ' ');
		struct buf v;
		buf_init(&v);
		if (mime_header_get(data, p->hdr_off, p->hdr_len, defaulted[i],
				    &v) == 1) {
			size_t before = buf_len(out);
			imap_address_list_append(out, buf_data(&v));
			if (strcmp(buf_data(out) + before, "NIL") == 0) {
				buf_truncate(out, before);
				buf_append_str(out, from);
			}
		} else {
			buf_append_str(out, from);
		}
		buf_clear(&v);
	}
	free(from);
	static const char *const lists[] = { "To", "Cc", "Bcc" };
	for (size_t i = 0; i < N_ELEMENTS(lists); i++) {
		buf_append_char(out, ' ');
		imap_env_addresses(out, data, p, lists[i]);
	}
	buf_append_char(out, ' ');
	imap_env_string(out, data, p, "In-Reply-To");
	buf_append_char(out, ' ');
	imap_env_string(out, data, p, "Message-ID");
	buf_append_char(out, ')');
}

/* --- body structure --- */

static void
imap_params_append(struct buf *out, const struct mime_param *params,
	unsigned int n)
{
	if (n == 0) {
		buf_append_str(out, "NIL");
		return;
	}
	buf_append_char(out, '(');
	for (unsigned int i = 0; i < n; i++) {
		if (i > 0)
			buf_append_char(out, ' ');
		imap_append_nstring(out, params[i].name);
		buf_append_char(out, ' ');
		imap_append_nstring(out, params[i].value);
	}
	buf_append_char(out, ')');
}

static void
imap_disposition_append(struct buf *out, const struct mime_part *p)
{
	if (p->disposition == NULL) {
		buf_append_str(out, "NIL");
		return;
	}
	buf_append_char(out, '(');
	imap_append_nstring(out, p->disposition);
	buf_append_char(out, ' ');
	imap_params_append(out, p->disp_params, p->n_disp_params);
	buf_append_char(out, ')');
}

/* body-ext: disposition, language, location */
static void
imap_body_ext_tail(struct buf *out, const struct mime_part *p)
{
	buf_append_char(out, ' ');
	imap_disposition_append(out, p);
	buf_append_char(out, ' ');
	if (p->language == NULL) {
		buf_append_str(out, "NIL");
	} else {
		/* RFC 3501: body-fld-lang = nstring / "(" string *(SP string)
		 * ")"; one value is enough for clients */
		imap_append_nstring(out, p->language);
	}
	buf_append_char(out, ' ');
	imap_append_nstring(out, p->location);
}

void
imap_bodystructure_append(struct buf *out, const char *data,
	const struct mime_part *p, bool extended)
{
	buf_append_char(out, '(');
	if (p->is_multipart && p->n_children > 0) {
		for (unsigned int i = 0; i < p->n_children; i++)
			imap_bodystructure_append(out, data, &p->children[i],
				extended);
		buf_append_char(out, ' ');
		imap_append_nstring(out, p->subtype);
		if (extended) {
			buf_append_char(out, ' ');
			imap_params_append(out, p->params, p->n_params);
			imap_body_ext_tail(out, p);
		}
		buf_append_char(out, ')');
		return;
	}
	if (p->is_multipart) {
		/* a multipart without parts: shown as an empty text part */
		buf_append_str(out, "\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0)");
		return;
	}
	imap_append_nstring(out, p->type);
	buf_append_char(out, ' ');
	imap_append_nstring(out, p->subtype);
	buf_append_char(out, ' ');
	imap_params_append(out, p->params, p->n_params);
	buf_append_char(out, ' ');
	imap_append_nstring(out, p->id);
	buf_append_char(out, ' ');
	imap_append_nstring(out, p->description);
	buf_append_char(out, ' ');
	imap_append_nstring(out, p->encoding != NULL ? p->encoding : "7bit");
	buf_printf(out, " %zu", p->body_len);
	if (p->is_message && p->message != NULL) {
		buf_append_char(out, ' ');
		imap_envelope_append(out, data, p->message);
		buf_append_char(out, ' ');
		imap_bodystructure_append(out, data, p->message, extended);
		buf_printf(out, " %u", p->body_lines);
	} else if (p->is_text) {
		buf_printf(out, " %u", p->body_lines);
	}
	if (extended) {
		buf_append_char(out, ' ');
		imap_append_nstring(out, p->md5);
		imap_body_ext_tail(out, p);
	}
	buf_append_char(out, ')');
}
