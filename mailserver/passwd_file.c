/* passwd_file.c: Dovecot passwd-file lines, parsed one at a time. The reader
 * buffers at most one line; everything about users (look-ups, reloads) lives
 * in directory_passwd.c. */
#include "postier.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "passwd_file.h"

void
passwd_entry_clear(struct passwd_entry *e)
{
	free(e->user);
	if (e->password != NULL) {
		explicit_bzero(e->password, strlen(e->password));
		free(e->password);
	}
	free(e->home);
	free(e->extra);
	memset(e, 0, sizeof(*e));
}

/* Number, or a system user/group name. Returns 0 or -1. */
static int
passwd_parse_id(const char *s, size_t len, bool group, long long *id_r)
{
	if (len == 0) {
		*id_r = -1;
		return 0;
	}
	char tmp[256];
	if (len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (isdigit((unsigned char)tmp[0])) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(tmp, &end, 10);
		if (errno != 0 || *end != '\0' || v >= 0xffffffffULL)
			return -1;
		*id_r = (long long)v;
		return 0;
	}
	char pwbuf[4096];
	if (group) {
		struct group gr, *res = NULL;
		if (getgrnam_r(tmp, &gr, pwbuf, sizeof(pwbuf), &res) != 0 ||
		    res == NULL)
			return -1;
		*id_r = gr.gr_gid;
	} else {
		struct passwd pw, *res = NULL;
		if (getpwnam_r(tmp, &pw, pwbuf, sizeof(pwbuf), &res) != 0 ||
		    res == NULL)
			return -1;
		*id_r = pw.pw_uid;
	}
	return 0;
}

static char *
passwd_field_dup(const char *s, size_t len)
{
	return len == 0 ? NULL : xstrndup(s, len);
}

int
passwd_file_parse_line(const char *line, size_t len,
	struct passwd_entry *entry_r, const char **error_r)
{
	memset(entry_r, 0, sizeof(*entry_r));
	if (len > 0 && line[len - 1] == '\r')
		len--;
	size_t skip = 0;
	while (skip < len && (line[skip] == ' ' || line[skip] == '\t'))
		skip++;
	if (skip == len || line[skip] == '#')
		return 0;
	if (memchr(line, '\0', len) != NULL) {
		*error_r = "NUL byte in line";
		return -1;
	}

	/* fields 0..6 split on ':', field 7 (extra) is the rest */
	const char *field[8] = { 0 };
	size_t flen[8] = { 0 };
	size_t nfields = 0;
	const char *p = line, *end = line + len;
	while (nfields < 8) {
		const char *colon = nfields < 7 ? memchr(p, ':', end - p) : NULL;
		field[nfields] = p;
		flen[nfields] = (colon != NULL ? colon : end) - p;
		nfields++;
		if (colon == NULL)
			break;
		p = colon + 1;
	}
	if (flen[0] == 0) {
		*error_r = "empty user name";
		return -1;
	}
	for (size_t i = 0; i < flen[0]; i++) {
		unsigned char ch = field[0][i];
		if (ch <= ' ' || ch == 0x7f) {
			*error_r = "space or control character in user name";
			return -1;
		}
	}
	const char *at = memchr(field[0], '@', flen[0]);
	if (at != NULL && (at == field[0] || at == field[0] + flen[0] - 1 ||
	    memchr(at + 1, '@', field[0] + flen[0] - at - 1) != NULL)) {
		*error_r = "malformed user@domain";
		return -1;
	}
	long long uid = -1, gid = -1;
	if (nfields > 2 && passwd_parse_id(field[2], flen[2], false, &uid) < 0) {
		*error_r = "bad uid (not a number or a known user)";
		return -1;
	}
	if (nfields > 3 && passwd_parse_id(field[3], flen[3], true, &gid) < 0) {
		*error_r = "bad gid (not a number or a known group)";
		return -1;
	}
	if (nfields > 5 && flen[5] > 0 && field[5][0] != '/') {
		*error_r = "home is not an absolute path";
		return -1;
	}

	entry_r->user = xstrndup(field[0], flen[0]);
	if (at != NULL) {
		for (char *d = entry_r->user + (at - field[0]) + 1; *d != '\0'; d++)
			*d = tolower((unsigned char)*d);
	}
	entry_r->password = nfields > 1 ? xstrndup(field[1], flen[1]) :
		xstrdup("");
	entry_r->uid = (uid_t)uid;
	entry_r->gid = (gid_t)gid;
	entry_r->home = nfields > 5 ? passwd_field_dup(field[5], flen[5]) : NULL;
	entry_r->extra = nfields > 7 ? passwd_field_dup(field[7], flen[7]) : NULL;
	return 1;
}

char *
passwd_entry_extra(const struct passwd_entry *e, const char *key)
{
	if (e->extra == NULL)
		return NULL;
	size_t klen = strlen(key);
	const char *p = e->extra;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		const char *end = strchr(p, ' ');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) > klen && strncmp(p, key, klen) == 0 &&
		    p[klen] == '=')
			return xstrndup(p + klen + 1, end - p - klen - 1);
		p = end;
	}
	return NULL;
}

void
passwd_reader_init(struct passwd_reader *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->line);
}

void
passwd_reader_clear(struct passwd_reader *r)
{
	if (r->line.data != NULL)
		explicit_bzero(r->line.data, r->line.cap);
	buf_clear(&r->line);
}

void
passwd_reader_feed(struct passwd_reader *r, const char *data, size_t len)
{
	PASSERT(r->pending_len == 0);
	r->pending = data;
	r->pending_len = len;
}

void
passwd_reader_finish(struct passwd_reader *r)
{
	r->finished = true;
}

/* One complete line is in r->line (or overflowed): parse it. */
static int
passwd_reader_line(struct passwd_reader *r, struct passwd_entry *entry_r,
	unsigned *line_r, const char **error_r)
{
	r->line_no++;
	*line_r = r->line_no;
	int ret;
	if (r->overflow) {
		*error_r = "line too long";
		ret = -1;
	} else {
		ret = passwd_file_parse_line(buf_data(&r->line),
			buf_len(&r->line), entry_r, error_r);
		if (ret > 0)
			entry_r->line = r->line_no;
	}
	r->overflow = false;
	explicit_bzero(r->line.data, r->line.len);
	buf_reset(&r->line);
	return ret;
}

int
passwd_reader_next(struct passwd_reader *r, struct passwd_entry *entry_r,
	unsigned *line_r, const char **error_r)
{
	for (;;) {
		while (r->pending_len > 0) {
			const char *lf = memchr(r->pending, '\n', r->pending_len);
			size_t n = lf != NULL ? (size_t)(lf - r->pending) :
				r->pending_len;
			if (!r->overflow) {
				if (buf_len(&r->line) + n + 1 >
				    PASSWD_FILE_MAX_LINE_BYTES)
					r->overflow = true;
				else
					buf_append(&r->line, r->pending, n);
			}
			r->pending += n;
			r->pending_len -= n;
			if (lf == NULL)
				break;
			r->pending++;
			r->pending_len--;
			int ret = passwd_reader_line(r, entry_r, line_r, error_r);
			if (ret != 0)
				return ret;
		}
		if (r->finished && (buf_len(&r->line) > 0 || r->overflow)) {
			int ret = passwd_reader_line(r, entry_r, line_r, error_r);
			if (ret != 0)
				return ret;
			continue;
		}
		return 0;
	}
}
