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

/* The fields after the password of the passwd-file's first line, so new
 * users look like the existing ones (uid, gid, home pattern). */
static char *
prepare_passwd_tail(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *tail = NULL;
	size_t cap = 0;
	if (f == NULL)
		return xstrdup("::::::");
	while (getline(&line, &cap, f) > 0) {
		if (line[0] == '#' || strchr(line, ':') == NULL)
			continue;
		char *p = strchr(line, ':');
		p = strchr(p + 1, ':');
		if (p == NULL)
			continue;
		p[strcspn(p, "\r\n")] = '\0';
		tail = xstrdup(p);
		break;
	}
	free(line);
	fclose(f);
	if (tail == NULL)
		return xstrdup("::::::");
	/* a home naming its user cannot be shared: drop it */
	char *home = NULL;
	int colons = 0;
	for (char *q = tail; *q != '\0'; q++) {
		if (*q == ':' && ++colons == 4)
			home = q + 1;
	}
	if (home != NULL && strchr(home, '@') != NULL) {
		char *end = strchr(home, ':');
		memmove(home, end != NULL ? end : home + strlen(home),
			strlen(end != NULL ? end : "") + 1);
	}
	return tail;
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
	char *tail = t->passwd_file != NULL ?
		prepare_passwd_tail(t->passwd_file) : NULL;
	struct buf users, passwd;
	buf_init(&users);
	buf_init(&passwd);
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	int ret = 0;
	for (unsigned int i = have; i < want; i++) {
		char pw[17], salt[CRYPT_GENSALT_OUTPUT_SIZE];
		prepare_password(pw);
		/* users numbered from 1, domains round-robin */
		char *addr = xasprintf("lg-%06u@%s", i + 1,
			domains[i % n_domains]);
		buf_printf(&users, "%s:%s\n", addr, pw);
		if (tail != NULL) {
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
			buf_printf(&passwd, "%s:{SHA512-CRYPT}%s%s\n", addr,
				hash, tail);
		}
		free(addr);
	}
	if (ret == 0 && tail != NULL)
		ret = prepare_append(t->passwd_file, &passwd, error_r);
	if (ret == 0)
		ret = prepare_append(t->users_file, &users, error_r);
	if (ret == 0)
		*added_r = want - have;
	if (ret == 0 && tail != NULL && t->reload_command != NULL) {
		int st = system(t->reload_command);
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			*error_r = xasprintf("reload_command failed: %s",
				t->reload_command);
			ret = -1;
		}
	}
	free(cd);
	free(tail);
	for (size_t i = 0; i < n_domains; i++)
		free(domains[i]);
	free(domains);
	buf_clear(&users);
	buf_clear(&passwd);
	if (ret == 0)
		ret = target_load_users(t, error_r);
	return ret;
}
