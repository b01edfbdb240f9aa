/* mail_location.c: Dovecot's mail_location for Maildir, expanded per user.
 * Only the "maildir:" driver; %-variables %u %n %d %h %% and their long
 * forms %{user} %{username} %{domain} %{home}, with Dovecot's L (lower-case)
 * modifier (%Ld). Substituted user and domain values may not contain '/' or
 * be "." / "..": a crafted address must not escape the mail tree. */
#include "postier.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "mail_location.h"

/* Splits "maildir:PATH[:OPT[:OPT...]]". Returns 0 with the path's span, or
 * -1 with *error_r (heap). */
static int
mail_location_split(const char *location, const char **path_r,
	size_t *path_len_r, char **error_r)
{
	if (location == NULL || strncasecmp(location, "maildir:", 8) != 0) {
		*error_r = xasprintf("mail_location must start with "
			"\"maildir:\" (only Maildir is supported)");
		return -1;
	}
	const char *path = location + 8;
	const char *colon = strchr(path, ':');
	size_t len = colon != NULL ? (size_t)(colon - path) : strlen(path);
	if (len == 0) {
		*error_r = xasprintf("mail_location has an empty path");
		return -1;
	}
	if (path[0] != '/' && path[0] != '~' && path[0] != '%') {
		*error_r = xasprintf("mail_location path must be absolute, "
			"start with ~/ or with %%h");
		return -1;
	}
	for (const char *opt = colon; opt != NULL; ) {
		opt++;
		const char *next = strchr(opt, ':');
		size_t olen = next != NULL ? (size_t)(next - opt) : strlen(opt);
		if (olen >= 7 && strncasecmp(opt, "LAYOUT=", 7) == 0 &&
		    !(olen == 16 && strncasecmp(opt + 7, "maildir++", 9) == 0)) {
			*error_r = xasprintf("mail_location: only "
				"LAYOUT=maildir++ is supported");
			return -1;
		}
		opt = next;
	}
	*path_r = path;
	*path_len_r = len;
	return 0;
}

int
mail_location_check(const char *location, char **error_r)
{
	const char *path;
	size_t len;
	if (mail_location_split(location, &path, &len, error_r) < 0)
		return -1;
	/* expand with sample values to find bad variables */
	char *s = mail_location_expand(location, "user@example.org",
		"/home/user", error_r);
	if (s == NULL)
		return -1;
	free(s);
	return 0;
}

static bool
mail_location_safe(const char *v, size_t len)
{
	if (len == 0 || memchr(v, '/', len) != NULL ||
	    memchr(v, '\0', len) != NULL)
		return false;
	if ((len == 1 && v[0] == '.') || (len == 2 && v[0] == '.' && v[1] == '.'))
		return false;
	return true;
}

char *
mail_location_expand(const char *location, const char *address,
	const char *home, char **error_r)
{
	const char *path;
	size_t len;
	if (mail_location_split(location, &path, &len, error_r) < 0)
		return NULL;

	const char *at = strrchr(address, '@');
	size_t nlen = at != NULL ? (size_t)(at - address) : strlen(address);
	const char *domain = at != NULL ? at + 1 : "";
	struct buf out;
	buf_init(&out);

	size_t i = 0;
	if (path[0] == '~') {
		if (len > 1 && path[1] != '/') {
			*error_r = xasprintf("mail_location: ~user is not "
				"supported, use ~/");
			goto fail;
		}
		if (home == NULL || home[0] == '\0') {
			*error_r = xasprintf("mail_location uses ~ but the "
				"user has no home");
			goto fail;
		}
		buf_append_str(&out, home);
		i = 1;
	}
	while (i < len) {
		char ch = path[i];
		if (ch != '%') {
			buf_append_char(&out, ch);
			i++;
			continue;
		}
		i++;
		bool lower = false;
		if (i < len && path[i] == 'L') {
			lower = true;
			i++;
		}
		if (i >= len) {
			*error_r = xasprintf("mail_location ends in %%");
			goto fail;
		}
		char var = path[i++];
		if (var == '{') {
			const char *close = memchr(path + i, '}', len - i);
			if (close == NULL) {
				*error_r = xasprintf("mail_location: "
					"unterminated %%{");
				goto fail;
			}
			size_t vlen = close - (path + i);
			static const struct { const char *name; char var; }
			longs[] = { { "user", 'u' }, { "username", 'n' },
				{ "domain", 'd' }, { "home", 'h' } };
			var = '\0';
			for (size_t k = 0; k < N_ELEMENTS(longs); k++) {
				if (strlen(longs[k].name) == vlen &&
				    strncmp(longs[k].name, path + i, vlen) == 0)
					var = longs[k].var;
			}
			if (var == '\0') {
				*error_r = xasprintf("mail_location: unknown "
					"variable %%{%.*s}", (int)vlen, path + i);
				goto fail;
			}
			i += vlen + 1;
		}
		const char *v;
		size_t vlen;
		bool check = true;
		switch (var) {
		case '%':
			buf_append_char(&out, '%');
			continue;
		case 'u':
			v = address;
			vlen = strlen(address);
			break;
		case 'n':
			v = address;
			vlen = nlen;
			break;
		case 'd':
			v = domain;
			vlen = strlen(domain);
			break;
		case 'h':
			if (home == NULL || home[0] == '\0') {
				*error_r = xasprintf("mail_location uses %%h "
					"but the user has no home");
				goto fail;
			}
			v = home;
			vlen = strlen(home);
			check = false;
			break;
		default:
			*error_r = xasprintf("mail_location: unknown variable "
				"%%%c", var);
			goto fail;
		}
		if (check && !mail_location_safe(v, vlen)) {
			*error_r = xasprintf("mail_location: %%%c would be "
				"empty or not a plain name for this user", var);
			goto fail;
		}
		size_t start = buf_len(&out);
		buf_append(&out, v, vlen);
		if (lower) {
			for (size_t k = start; k < out.len; k++)
				out.data[k] = tolower((unsigned char)out.data[k]);
		}
	}
	/* drop trailing slashes (but keep "/") */
	while (out.len > 1 && out.data[out.len - 1] == '/')
		buf_truncate(&out, out.len - 1);
	if (out.len == 0 || out.data[0] != '/') {
		*error_r = xasprintf("mail_location does not expand to an "
			"absolute path");
		goto fail;
	}
	return buf_steal(&out);
fail:
	buf_clear(&out);
	return NULL;
}
