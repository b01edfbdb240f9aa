/* test_mail_location.c: Dovecot mail_location expansion. */
#include "postier.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mail_location.h"

struct case_row {
	const char *name;
	const char *location;
	const char *address;
	const char *home;
	const char *want; /* NULL: must fail */
};

static const struct case_row cases[] = {
	{ "home tilde", "maildir:~/Maildir", "alice@example.org",
		"/home/alice", "/home/alice/Maildir" },
	{ "vmail tree", "maildir:/var/vmail/%d/%n/Maildir", "alice@example.org",
		NULL, "/var/vmail/example.org/alice/Maildir" },
	{ "full user", "maildir:/var/vmail/%u", "bob@example.org", NULL,
		"/var/vmail/bob@example.org" },
	{ "home var", "maildir:%h/mail", "a@b.c", "/srv/a", "/srv/a/mail" },
	{ "long forms", "maildir:/v/%{domain}/%{username}/%{user}", "a@b.c",
		NULL, "/v/b.c/a/a@b.c" },
	{ "lower-case modifier", "maildir:/v/%Ld/%Ln", "Bob@Example.ORG", NULL,
		"/v/example.org/bob" },
	{ "percent", "maildir:/v/100%%/%n", "a@b.c", NULL, "/v/100%/a" },
	{ "options ignored", "maildir:/v/%d/%n:INDEX=/idx/%u:LAYOUT=maildir++",
		"a@b.c", NULL, "/v/b.c/a" },
	{ "trailing slash", "maildir:/v/%n/", "a@b.c", NULL, "/v/a" },
	{ "no domain", "maildir:/v/%n", "local", NULL, "/v/local" },
	{ "upper-case driver", "MAILDIR:/v/%n", "a@b.c", NULL, "/v/a" },
	{ "tilde without home", "maildir:~/Maildir", "a@b.c", NULL, NULL },
	{ "%h without home", "maildir:%h/M", "a@b.c", "", NULL },
	{ "mbox refused", "mbox:~/mail", "a@b.c", "/h", NULL },
	{ "no driver", "/var/mail/%u", "a@b.c", NULL, NULL },
	{ "relative", "maildir:Maildir", "a@b.c", NULL, NULL },
	{ "layout fs refused", "maildir:/v/%n:LAYOUT=fs", "a@b.c", NULL, NULL },
	{ "unknown variable", "maildir:/v/%x", "a@b.c", NULL, NULL },
	{ "unknown long variable", "maildir:/v/%{service}", "a@b.c", NULL, NULL },
	{ "unterminated long", "maildir:/v/%{user", "a@b.c", NULL, NULL },
	{ "ends in percent", "maildir:/v/%", "a@b.c", NULL, NULL },
	{ "slash in user", "maildir:/v/%d/%n", "../x@b.c", NULL, NULL },
	{ "dotdot user", "maildir:/v/%d/%n", "..@b.c", NULL, NULL },
	{ "empty domain", "maildir:/v/%d/%n", "a", NULL, NULL },
	{ "empty path", "maildir:", "a@b.c", NULL, NULL },
	{ "~user refused", "maildir:~bob/M", "a@b.c", "/h", NULL },
};

static void
test_expand(void **state ATTR_UNUSED)
{
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		const struct case_row *c = &cases[i];
		char *error = NULL;
		char *got = mail_location_expand(c->location, c->address,
			c->home, &error);
		if (c->want == NULL) {
			if (got != NULL)
				fail_msg("%s: expanded to %s, want failure",
					c->name, got);
			if (error == NULL)
				fail_msg("%s: failed without a reason", c->name);
		} else {
			if (got == NULL)
				fail_msg("%s: failed: %s", c->name, error);
			if (strcmp(got, c->want) != 0)
				fail_msg("%s: got %s want %s", c->name, got,
					c->want);
		}
		free(got);
		free(error);
	}
}

static void
test_check(void **state ATTR_UNUSED)
{
	char *error = NULL;
	assert_int_equal(mail_location_check("maildir:~/Maildir", &error), 0);
	assert_int_equal(mail_location_check("maildir:/v/%d/%n", &error), 0);
	assert_int_equal(mail_location_check("maildir:/v/%q", &error), -1);
	free(error);
	error = NULL;
	assert_int_equal(mail_location_check("sdbox:~/m", &error), -1);
	free(error);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
