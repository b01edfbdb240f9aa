/* smtp_cmd.c: SMTP command line, path and ESMTP parameter parsing.
 * Pure functions over bytes; see smtp_cmd.h for the grammar and errors.
 * Source routes in paths are parsed and dropped (RFC 5321 4.1.1.3 says
 * servers SHOULD ignore them); SMTPUTF8 is not supported. */
#include "postier.h"

#include <string.h>
#include <strings.h>

#include "proto/smtp_cmd.h"

static const struct {
	const char *name;
	enum smtp_verb verb;
} smtp_verbs[] = {
	{ "HELO", SMTP_VERB_HELO },
	{ "EHLO", SMTP_VERB_EHLO },
	{ "MAIL", SMTP_VERB_MAIL },
	{ "RCPT", SMTP_VERB_RCPT },
	{ "DATA", SMTP_VERB_DATA },
	{ "BDAT", SMTP_VERB_BDAT },
	{ "RSET", SMTP_VERB_RSET },
	{ "NOOP", SMTP_VERB_NOOP },
	{ "QUIT", SMTP_VERB_QUIT },
	{ "VRFY", SMTP_VERB_VRFY },
	{ "EXPN", SMTP_VERB_EXPN },
	{ "HELP", SMTP_VERB_HELP },
	{ "STARTTLS", SMTP_VERB_STARTTLS },
	{ "AUTH", SMTP_VERB_AUTH },
};

static const struct smtp_error err_empty = { 500, "5.5.2", "Error: empty command" };
static const struct smtp_error err_nul = { 500, "5.5.2", "Error: NUL byte in command" };
static const struct smtp_error err_mail_syntax =
	{ 501, "5.5.4", "Syntax: MAIL FROM:<address>" };
static const struct smtp_error err_rcpt_syntax =
	{ 501, "5.5.4", "Syntax: RCPT TO:<address>" };
static const struct smtp_error err_sender =
	{ 501, "5.1.7", "Bad sender address syntax" };
static const struct smtp_error err_rcpt =
	{ 501, "5.1.3", "Bad recipient address syntax" };
static const struct smtp_error err_sender_long =
	{ 501, "5.1.7", "Path too long" };
static const struct smtp_error err_rcpt_long =
	{ 501, "5.1.3", "Path too long" };
static const struct smtp_error err_param_syntax =
	{ 501, "5.5.4", "Bad parameter syntax" };
static const struct smtp_error err_param_unknown =
	{ 555, "5.5.4", "Unsupported parameter" };
static const struct smtp_error err_param_dup =
	{ 501, "5.5.4", "Duplicate parameter" };
static const struct smtp_error err_size =
	{ 501, "5.5.4", "Bad SIZE parameter" };
static const struct smtp_error err_body =
	{ 501, "5.5.4", "Unsupported BODY type" };
static const struct smtp_error err_bdat =
	{ 501, "5.5.4", "Syntax: BDAT size [LAST]" };
static const struct smtp_error err_helo =
	{ 501, "5.5.2", "Syntax: EHLO hostname" };

const char *
smtp_verb_name(enum smtp_verb verb)
{
	for (size_t i = 0; i < N_ELEMENTS(smtp_verbs); i++) {
		if (smtp_verbs[i].verb == verb)
			return smtp_verbs[i].name;
	}
	return "unknown";
}

int
smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd_r,
	const struct smtp_error **error_r)
{
	cmd_r->verb = SMTP_VERB_UNKNOWN;
	cmd_r->arg = "";
	cmd_r->arg_len = 0;
	if (memchr(line, '\0', len) != NULL) {
		*error_r = &err_nul;
		return -1;
	}
	/* trailing spaces (and a stray CR) are noise */
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\r' ||
	    line[len - 1] == '\t'))
		len--;
	if (len == 0) {
		*error_r = &err_empty;
		return -1;
	}
	size_t vlen = 0;
	while (vlen < len && line[vlen] != ' ')
		vlen++;
	for (size_t i = 0; i < N_ELEMENTS(smtp_verbs); i++) {
		if (strlen(smtp_verbs[i].name) == vlen &&
		    strncasecmp(smtp_verbs[i].name, line, vlen) == 0) {
			cmd_r->verb = smtp_verbs[i].verb;
			break;
		}
	}
	size_t p = vlen;
	while (p < len && line[p] == ' ')
		p++;
	cmd_r->arg = line + p;
	cmd_r->arg_len = len - p;
	return 0;
}

/* RFC 5322 3.2.3 atext */
static bool
is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool
is_letdig(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9');
}

/* Dot-string = Atom *("." Atom) */
static bool
is_dot_string(const char *s, size_t len)
{
	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return false;
		} else if (!is_atext((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/* Parses a Domain or address-literal at s; returns its length or 0. */
static size_t
parse_domain(const char *s, size_t len)
{
	size_t i = 0;
	if (len > 0 && s[0] == '[') {
		/* address-literal: "[" 1*dcontent "]", dcontent %d33-90 / %d94-126
		 * (RFC 5321 4.1.3 General-address-literal is the widest form) */
		for (i = 1; i < len && s[i] != ']'; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c < 33 || c > 126 || c == '[' || c == '\\')
				return 0;
		}
		if (i >= len || i == 1)
			return 0;
		return i + 1;
	}
	for (;;) {
		/* sub-domain = Let-dig [Ldh-str] */
		size_t start = i;
		while (i < len && (is_letdig((unsigned char)s[i]) || s[i] == '-'))
			i++;
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return 0;
		if (i < len && s[i] == '.' && i + 1 < len &&
		    is_letdig((unsigned char)s[i + 1])) {
			i++;
			continue;
		}
		return i;
	}
}

int
smtp_path_parse(const char *s, size_t len, bool reverse,
	struct smtp_path *path_r, size_t *used_r, const struct smtp_error **error_r)
{
	const struct smtp_error *bad = reverse ? &err_sender : &err_rcpt;
	const struct smtp_error *too_long =
		reverse ? &err_sender_long : &err_rcpt_long;
	size_t i = 0, o = 0;

	memset(path_r, 0, sizeof(*path_r));
	path_r->domain = path_r->addr;
	*error_r = bad;
	if (len < 2 || s[0] != '<')
		return -1;
	if (s[1] == '>') {
		if (!reverse)
			return -1;
		path_r->null = true;
		*used_r = 2;
		return 0;
	}
	/* Find the closing '>' (outside a quoted string). RFC 5321 4.5.3.1.3:
	 * a path is at most 256 octets including the brackets. */
	size_t end = 1;
	bool quoted = false;
	while (end < len && (quoted || s[end] != '>')) {
		if (s[end] == '"')
			quoted = !quoted;
		else if (quoted && s[end] == '\\' && end + 1 < len)
			end++;
		end++;
	}
	if (end >= len)
		return -1;
	if (end + 1 > SMTP_PATH_MAX_BYTES) {
		*error_r = too_long;
		return -1;
	}
	len = end + 1; /* parse nothing past the '>' */
	i = 1;
	if (s[i] == '@') {
		/* A-d-l = At-domain *( "," At-domain ) ":" — dropped */
		for (;;) {
			if (i >= len || s[i] != '@')
				return -1;
			size_t d = parse_domain(s + i + 1, len - i - 1);
			if (d == 0)
				return -1;
			i += 1 + d;
			if (i < len && s[i] == ',') {
				i++;
				continue;
			}
			if (i < len && s[i] == ':') {
				i++;
				break;
			}
			return -1;
		}
	}
	/* Local-part */
	char *out = path_r->addr;
	if (i < len && s[i] == '"') {
		char content[SMTP_PATH_MAX_BYTES + 1];
		size_t clen = 0;
		bool needs_escape = false;
		for (i++; i < len && s[i] != '"'; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c == '\\') {
				/* quoted-pairSMTP = %d92 %d32-126 */
				if (i + 1 >= len || s[i + 1] < 32 || s[i + 1] > 126)
					return -1;
				c = (unsigned char)s[++i];
				if (c == '"' || c == '\\')
					needs_escape = true;
			} else if (c < 32 || c > 126) {
				return -1;
			}
			if (clen >= SMTP_PATH_MAX_BYTES) {
				*error_r = too_long;
				return -1;
			}
			content[clen++] = (char)c;
		}
		if (i >= len)
			return -1;
		i++; /* closing quote */
		if (!needs_escape && is_dot_string(content, clen)) {
			memcpy(out, content, clen);
			o = clen;
		} else {
			/* keep it quoted, re-escaped minimally */
			out[o++] = '"';
			for (size_t k = 0; k < clen; k++) {
				if (o + 3 >= SMTP_PATH_MAX_BYTES) {
					*error_r = too_long;
					return -1;
				}
				if (content[k] == '"' || content[k] == '\\')
					out[o++] = '\\';
				out[o++] = content[k];
			}
			out[o++] = '"';
		}
	} else {
		size_t start = i;
		while (i < len && (is_atext((unsigned char)s[i]) || s[i] == '.'))
			i++;
		if (!is_dot_string(s + start, i - start))
			return -1;
		if (i - start >= SMTP_PATH_MAX_BYTES) {
			*error_r = too_long;
			return -1;
		}
		memcpy(out, s + start, i - start);
		o = i - start;
		if (!reverse && i < len && s[i] == '>' &&
		    o == strlen("postmaster") &&
		    strncasecmp(out, "postmaster", o) == 0) {
			/* RFC 5321 4.5.1: <Postmaster> without a domain */
			memcpy(out, "postmaster", o);
			out[o] = '\0';
			path_r->local_len = o;
			path_r->domain = out + o;
			path_r->postmaster = true;
			*used_r = i + 1;
			return 0;
		}
	}
	path_r->local_len = o;
	if (i >= len || s[i] != '@')
		return -1;
	i++;
	size_t d = parse_domain(s + i, len - i);
	if (d == 0 || d > SMTP_DOMAIN_MAX_BYTES)
		return -1;
	if (i + d >= len || s[i + d] != '>')
		return -1;
	if (o + 1 + d > SMTP_PATH_MAX_BYTES - 2) {
		*error_r = too_long;
		return -1;
	}
	out[o++] = '@';
	path_r->domain = out + o;
	for (size_t k = 0; k < d; k++) {
		char c = s[i + k];
		out[o++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[o] = '\0';
	*used_r = i + d + 1;
	return 0;
}

/* Skips "FROM:" / "TO:" and one optional space. Returns the offset or 0. */
static size_t
skip_prefix(const char *arg, size_t len, const char *prefix)
{
	size_t plen = strlen(prefix);
	if (len < plen || strncasecmp(arg, prefix, plen) != 0)
		return 0;
	if (plen < len && arg[plen] == ' ')
		plen++;
	return plen;
}

/* esmtp-param = esmtp-keyword ["=" esmtp-value]
 * esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
 * esmtp-value = 1*(%d33-60 / %d62-126)
 * Splits the next parameter at *pos. Returns 1 with keyword/value, 0 at
 * the end, -1 malformed. */
static int
next_param(const char *s, size_t len, size_t *pos, const char **kw_r,
	size_t *kw_len_r, const char **val_r, size_t *val_len_r)
{
	size_t i = *pos;
	if (i >= len)
		return 0;
	if (s[i] != ' ')
		return -1;
	while (i < len && s[i] == ' ')
		i++;
	if (i >= len)
		return 0;
	size_t k = i;
	while (i < len && (is_letdig((unsigned char)s[i]) || s[i] == '-'))
		i++;
	if (i == k || s[k] == '-')
		return -1;
	*kw_r = s + k;
	*kw_len_r = i - k;
	*val_r = NULL;
	*val_len_r = 0;
	if (i < len && s[i] == '=') {
		size_t v = ++i;
		while (i < len && (unsigned char)s[i] >= 33 &&
		    (unsigned char)s[i] <= 126 && s[i] != '=')
			i++;
		if (i == v)
			return -1;
		*val_r = s + v;
		*val_len_r = i - v;
	}
	if (i < len && s[i] != ' ')
		return -1;
	*pos = i;
	return 1;
}

static bool
token_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

int
smtp_mail_parse(const char *arg, size_t len, struct smtp_mail_args *args_r,
	const struct smtp_error **error_r)
{
	memset(args_r, 0, sizeof(*args_r));
	size_t p = skip_prefix(arg, len, "FROM:");
	if (p == 0) {
		*error_r = &err_mail_syntax;
		return -1;
	}
	size_t used;
	if (smtp_path_parse(arg + p, len - p, true, &args_r->path, &used,
	    error_r) < 0)
		return -1;
	p += used;
	const char *kw, *val;
	size_t kw_len, val_len;
	int ret;
	while ((ret = next_param(arg, len, &p, &kw, &kw_len, &val,
	    &val_len)) > 0) {
		if (token_is(kw, kw_len, "SIZE")) {
			/* RFC 1870 3: size-value = 1*20DIGIT */
			if (args_r->has_size) {
				*error_r = &err_param_dup;
				return -1;
			}
			if (val == NULL || val_len > 20) {
				*error_r = &err_size;
				return -1;
			}
			uint64_t n = 0;
			for (size_t k = 0; k < val_len; k++) {
				if (val[k] < '0' || val[k] > '9') {
					*error_r = &err_size;
					return -1;
				}
				unsigned d = (unsigned)(val[k] - '0');
				n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX :
					n * 10 + d;
			}
			args_r->size = n;
			args_r->has_size = true;
		} else if (token_is(kw, kw_len, "BODY")) {
			if (args_r->body != SMTP_BODY_NONE) {
				*error_r = &err_param_dup;
				return -1;
			}
			if (val != NULL && token_is(val, val_len, "7BIT")) {
				args_r->body = SMTP_BODY_7BIT;
			} else if (val != NULL &&
			    token_is(val, val_len, "8BITMIME")) {
				args_r->body = SMTP_BODY_8BITMIME;
			} else {
				*error_r = &err_body;
				return -1;
			}
		} else if (token_is(kw, kw_len, "AUTH")) {
			if (args_r->has_auth) {
				*error_r = &err_param_dup;
				return -1;
			}
			if (val == NULL) {
				*error_r = &err_param_syntax;
				return -1;
			}
			args_r->has_auth = true;
		} else {
			*error_r = &err_param_unknown;
			return -1;
		}
	}
	if (ret < 0) {
		*error_r = &err_param_syntax;
		return -1;
	}
	return 0;
}

int
smtp_rcpt_parse(const char *arg, size_t len, struct smtp_path *path_r,
	const struct smtp_error **error_r)
{
	size_t p = skip_prefix(arg, len, "TO:");
	if (p == 0) {
		*error_r = &err_rcpt_syntax;
		return -1;
	}
	size_t used;
	if (smtp_path_parse(arg + p, len - p, false, path_r, &used,
	    error_r) < 0)
		return -1;
	p += used;
	const char *kw, *val;
	size_t kw_len, val_len;
	int ret = next_param(arg, len, &p, &kw, &kw_len, &val, &val_len);
	if (ret < 0) {
		*error_r = &err_param_syntax;
		return -1;
	}
	if (ret > 0) {
		*error_r = &err_param_unknown;
		return -1;
	}
	return 0;
}

int
smtp_helo_parse(const char *arg, size_t len, const struct smtp_error **error_r)
{
	if (len == 0 || len > SMTP_DOMAIN_MAX_BYTES) {
		*error_r = &err_helo;
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)arg[i];
		if (c < 33 || c > 126) {
			*error_r = &err_helo;
			return -1;
		}
	}
	return 0;
}

int
smtp_bdat_parse(const char *arg, size_t len, uint64_t *size_r, bool *last_r,
	const struct smtp_error **error_r)
{
	size_t i = 0;
	uint64_t n = 0;
	*error_r = &err_bdat;
	while (i < len && arg[i] >= '0' && arg[i] <= '9') {
		if (i == 18)
			return -1;
		n = n * 10 + (uint64_t)(arg[i] - '0');
		i++;
	}
	if (i == 0)
		return -1;
	*size_r = n;
	*last_r = false;
	if (i == len)
		return 0;
	if (len - i == 5 && arg[i] == ' ' && strncasecmp(arg + i + 1, "LAST",
	    4) == 0) {
		*last_r = true;
		return 0;
	}
	return -1;
}
