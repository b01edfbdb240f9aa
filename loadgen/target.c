/* target.c: target.ini and the users file (see target.h). */
#include "postier.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/xmalloc.h"
#include "target.h"

static const char *const service_names[TARGET_SERVICE_COUNT] = {
	"smtp", "submission", "submissions", "pop3", "pop3s", "imap", "imaps",
};

const char *
target_service_name(enum target_service s)
{
	return service_names[s];
}

struct target_load_ctx {
	struct target *t;
	char *error;
};

static void
target_set(char **dst, const char *value)
{
	free(*dst);
	*dst = value[0] != '\0' ? xstrdup(value) : NULL;
}

/* Drops a trailing " ; comment" or " # comment" from a value. */
static char *
target_value(const char *v)
{
	char *s = xstrdup(v);
	for (char *p = s; *p != '\0'; p++) {
		if ((*p == ';' || *p == '#') && (p == s || p[-1] == ' ' ||
						 p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

static int
target_item(const struct ini_item *item, void *context)
{
	struct target_load_ctx *ctx = context;
	struct target *t = ctx->t;
	if (item->kind == INI_ITEM_SECTION) {
		for (int i = 0; i < TARGET_SERVICE_COUNT; i++) {
			if (strcmp(item->section, service_names[i]) == 0)
				t->ep[i].present = true;
		}
		return 0;
	}
	char *v = target_value(item->value);
	int ret = 0;
	if (strcmp(item->section, "target") == 0) {
		if (strcmp(item->key, "name") == 0)
			target_set(&t->name, v);
		else if (strcmp(item->key, "ca_file") == 0)
			target_set(&t->ca_file, v);
		else if (strcmp(item->key, "users_file") == 0)
			target_set(&t->users_file, v);
		else if (strcmp(item->key, "passwd_file") == 0)
			target_set(&t->passwd_file, v);
		else if (strcmp(item->key, "reload_command") == 0)
			target_set(&t->reload_command, v);
	}
	for (int i = 0; i < TARGET_SERVICE_COUNT; i++) {
		if (strcmp(item->section, service_names[i]) != 0)
			continue;
		struct target_endpoint *ep = &t->ep[i];
		long long port;
		if (strcmp(item->key, "host") == 0) {
			target_set(&ep->host, v);
		} else if (strcmp(item->key, "port") == 0) {
			if (cfg_parse_int(v, &port) < 0 || port < 1 ||
			    port > 65535) {
				ctx->error = xasprintf("%s:%u: bad port \"%s\"",
					t->path, item->line, v);
				ret = -1;
			} else {
				ep->port = (unsigned int)port;
			}
		} else if (strcmp(item->key, "tls") == 0) {
			if (client_tls_parse(v, &ep->tls) < 0) {
				ctx->error = xasprintf("%s:%u: tls must be none, "
					"starttls or implicit", t->path,
					item->line);
				ret = -1;
			}
		}
	}
	free(v);
	return ret;
}

int
target_load(struct target *t, const char *path, char **error_r)
{
	memset(t, 0, sizeof(*t));
	t->path = xstrdup(path);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		*error_r = xasprintf("target %s: %s", path, strerror(errno));
		return -1;
	}
	struct target_load_ctx ctx = { .t = t };
	struct ini_reader r;
	ini_reader_init(&r, target_item, &ctx);
	char chunk[4096];
	size_t n;
	int ret = 0;
	while (ret == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		ret = ini_reader_feed(&r, chunk, n);
	if (ret == 0)
		ret = ini_reader_finish(&r);
	fclose(f);
	if (ret < 0) {
		*error_r = ctx.error != NULL ? ctx.error :
			xasprintf("target %s:%s", path,
				r.error != NULL ? r.error : " malformed");
		ini_reader_clear(&r);
		return -1;
	}
	ini_reader_clear(&r);
	for (int i = 0; i < TARGET_SERVICE_COUNT; i++) {
		struct target_endpoint *ep = &t->ep[i];
		if (ep->present && ep->port == 0) {
			*error_r = xasprintf("target %s: [%s] has no port", path,
				service_names[i]);
			return -1;
		}
		if (ep->present && ep->host == NULL)
			ep->host = xstrdup("127.0.0.1");
	}
	if (t->name == NULL)
		t->name = xstrdup("target");
	return 0;
}

int
target_load_users(struct target *t, char **error_r)
{
	for (size_t i = 0; i < t->n_users; i++) {
		free(t->users[i].address);
		free(t->users[i].password);
	}
	free(t->users);
	t->users = NULL;
	t->n_users = 0;
	if (t->users_file == NULL)
		return 0;
	FILE *f = fopen(t->users_file, "r");
	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		*error_r = xasprintf("users file %s: %s", t->users_file,
			strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		char *colon = strchr(line, ':');
		if (line[0] == '#' || colon == NULL || colon == line)
			continue;
		*colon = '\0';
		if (t->n_users == alloc) {
			alloc = alloc * 2 + 64;
			t->users = xrealloc(t->users, alloc * sizeof(*t->users));
		}
		t->users[t->n_users].address = xstrdup(line);
		t->users[t->n_users].password = xstrdup(colon + 1);
		t->n_users++;
	}
	free(line);
	fclose(f);
	return 0;
}

void
target_free(struct target *t)
{
	for (size_t i = 0; i < t->n_users; i++) {
		free(t->users[i].address);
		free(t->users[i].password);
	}
	free(t->users);
	for (int i = 0; i < TARGET_SERVICE_COUNT; i++)
		free(t->ep[i].host);
	free(t->path);
	free(t->name);
	free(t->ca_file);
	free(t->users_file);
	free(t->passwd_file);
	free(t->reload_command);
	memset(t, 0, sizeof(*t));
}

bool
target_client_opts(const struct target *t, enum target_service s,
	struct client_opts *opts_r)
{
	const struct target_endpoint *ep = &t->ep[s];
	if (!ep->present)
		return false;
	memset(opts_r, 0, sizeof(*opts_r));
	opts_r->host = ep->host;
	opts_r->port = ep->port;
	opts_r->family = AF_UNSPEC;
	opts_r->tls = ep->tls;
	opts_r->ca_file = t->ca_file;
	opts_r->timeout_ms = 30000;
	return true;
}
