/* prepare.c: population set-up (see prepare.h). */
#include "postier.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "prepare.h"

/* Domains to spread the users over: the profile's list, or the domains of
 * the target's existing users ("target"), or loadgen.test. */
static size_t
prepare_domains(const struct profile *p, const struct target *t,
	char ***domains_r)
{
	char **d = NULL;
	size_t n = 0;
	if (p->domains != NULL && strcmp(p->domains, "target") != 0) {
		char *copy = xstrdup(p->domains), *save = NULL;
		for (char *tok = strtok_r(copy, ", ", &save); tok != NULL;
		     tok = strtok_r(NULL, ", ", &save)) {
			d = xrealloc(d, (n + 1) * sizeof(*d));
			d[n++] = xstrdup(tok);
		}
		free(copy);
	}
	bool from_users = n == 0;
	for (size_t i = 0; from_users && i < t->n_users; i++) {
		const char *at = strchr(t->users[i].address, '@');
		if (at == NULL)
			continue;
		bool have = false;
		for (size_t k = 0; k < n; k++)
			have = have || strcmp(d[k], at + 1) == 0;
		if (!have) {
			d = xrealloc(d, (n + 1) * sizeof(*d));
			d[n++] = xstrdup(at + 1);
		}
	}
	if (n == 0) {
		d = xmalloc(sizeof(*d));
		d[n++] = xstrdup("loadgen.test");
	}
	*domains_r = d;
	return n;
}

static void
prepare_password(char out[17])
{
	unsigned char raw[8];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw))
		log_fatal("prepare: cannot read /dev/urandom");
	close(fd);
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

/* The passwd-file's first entry, the template for new users' fields after
 * the password (uid, gid, home pattern, ...). */
struct prepare_template {
	char *local, *domain;	/* of the template user */
	char *tail;		/* ":uid:gid:gecos:home:shell:extra" */
};

static void
prepare_template_read(const char *path, struct prepare_template *t)
{
	memset(t, 0, sizeof(*t));
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	while (f != NULL && getline(&line, &cap, f) > 0) {
		char *c1 = strchr(line, ':');
		if (line[0] == '#' || c1 == NULL)
			continue;
		char *c2 = strchr(c1 + 1, ':');
		if (c2 == NULL)
			continue;
		c2[strcspn(c2, "\r\n")] = '\0';
		t->tail = xstrdup(c2);
		*c1 = '\0';
		char *at = strchr(line, '@');
		if (at != NULL) {
			*at = '\0';
			t->local = xstrdup(line);
			t->domain = xstrdup(at + 1);
		}
		break;
	}
	free(line);
	if (f != NULL)
		fclose(f);
	if (t->tail == NULL)
		t->tail = xstrdup("::::::");
}

static void
prepare_template_clear(struct prepare_template *t)
{
	free(t->local);
	free(t->domain);
	free(t->tail);
}

/* Replaces the last occurrence of from in s (heap) by to. */
static char *
prepare_replace_last(char *s, const char *from, const char *to)
{
	char *hit = NULL;
	for (char *p = strstr(s, from); p != NULL; p = strstr(p + 1, from))
		hit = p;
	if (hit == NULL || from[0] == '\0')
		return s;
	char *r = xasprintf("%.*s%s%s", (int)(hit - s), s, to,
		hit + strlen(from));
	free(s);
	return r;
}

/* The template's tail for addr: a home naming the template user (its local
 * part, its domain) is rewritten for addr; one that does not is dropped, so
 * no two users share a home. */
static char *
prepare_tail_for(const struct prepare_template *t, const char *addr)
{
	char *tail = xstrdup(t->tail);
	/* fields: "" uid gid gecos home shell extra */
	char *home = tail;
	for (int i = 0; i < 4 && home != NULL; i++) {
		home = strchr(home, ':');
		if (home != NULL)
			home++;
	}
	if (home == NULL || *home == ':' || *home == '\0')
		return tail;
	size_t hl = strcspn(home, ":");
	char *h = xstrndup(home, hl);
	const char *at = strchr(addr, '@');
	char *local = xstrndup(addr, (size_t)(at - addr));
	if (t->local != NULL && strstr(h, t->local) != NULL) {
		h = prepare_replace_last(h, t->local, local);
		h = prepare_replace_last(h, t->domain, at + 1);
	} else {
		h[0] = '\0';
	}
	char *r = xasprintf("%.*s%s%s", (int)(home - tail), tail, h, home + hl);
	free(local);
	free(h);
	free(tail);
	return r;
}

static int
prepare_append(const char *path, const struct buf *lines, char **error_r)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	size_t pos = 0;
	while (pos < buf_len(lines)) {
		ssize_t n = write(fd, buf_data(lines) + pos,
			buf_len(lines) - pos);
		if (n <= 0) {
			*error_r = xasprintf("%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		pos += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
prepare_population(const struct profile *p, struct target *t, double scale,
	unsigned int *added_r, char **error_r)
{
	*added_r = 0;
	if (t->users_file == NULL) {
		*error_r = xasprintf("target %s: users_file is not set", t->path);
		return -1;
	}
	if (target_load_users(t, error_r) < 0)
		return -1;
	unsigned int want = (unsigned int)fmax(1, floor((double)p->mailboxes *
		scale + 0.5));
	unsigned int have = 0;
	for (size_t i = 0; i < t->n_users; i++) {
		if (strncmp(t->users[i].address, "lg-", 3) == 0)
			have++;
	}
	if (have >= want)
		return 0;
	char **domains;
	size_t n_domains = prepare_domains(p, t, &domains);
	struct prepare_template tmpl;
	bool passwd = t->passwd_file != NULL;
	if (passwd)
		prepare_template_read(t->passwd_file, &tmpl);
	struct buf users, lines;
	buf_init(&users);
	buf_init(&lines);
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	int ret = 0;
	for (unsigned int i = have; i < want; i++) {
		char pw[17], salt[CRYPT_GENSALT_OUTPUT_SIZE];
		prepare_password(pw);
		/* users numbered from 1, domains round-robin */
		char *addr = xasprintf("lg-%06u@%s", i + 1,
			domains[i % n_domains]);
		buf_printf(&users, "%s:%s\n", addr, pw);
		if (passwd) {
			if (crypt_gensalt_rn("$6$", 0, NULL, 0, salt,
				    sizeof(salt)) == NULL) {
				*error_r = xasprintf("crypt_gensalt: %s",
					strerror(errno));
				free(addr);
				ret = -1;
				break;
			}
			const char *hash = crypt_rn(pw, salt, cd, sizeof(*cd));
			if (hash == NULL || hash[0] == '*') {
				*error_r = xasprintf("crypt: SHA512-CRYPT not "
					"available");
				free(addr);
				ret = -1;
				break;
			}
			char *tail = prepare_tail_for(&tmpl, addr);
			buf_printf(&lines, "%s:{SHA512-CRYPT}%s%s\n", addr,
				hash, tail);
			free(tail);
		}
		free(addr);
	}
	if (ret == 0 && passwd)
		ret = prepare_append(t->passwd_file, &lines, error_r);
	if (ret == 0)
		ret = prepare_append(t->users_file, &users, error_r);
	if (ret == 0)
		*added_r = want - have;
	if (ret == 0 && passwd && t->reload_command != NULL) {
		int st = system(t->reload_command);
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			*error_r = xasprintf("reload_command failed: %s",
				t->reload_command);
			ret = -1;
		}
	}
	free(cd);
	if (passwd)
		prepare_template_clear(&tmpl);
	for (size_t i = 0; i < n_domains; i++)
		free(domains[i]);
	free(domains);
	buf_clear(&users);
	buf_clear(&lines);
	if (ret == 0)
		ret = target_load_users(t, error_r);
	return ret;
}
