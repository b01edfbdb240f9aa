/* postier-passwd: creates password hashes for postierd's passwd-file (the
 * same {SCHEME}hash strings Dovecot's `doveadm pw` prints).
 *
 *   postier-passwd [-s SCHEME] [-u user@domain]
 *
 * Reads the password from stdin when it is not a terminal (first line),
 * otherwise prompts twice without echo. Prints the hash, or with -u a whole
 * passwd-file line. */
#include "postier.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "password.h"

#define PASSWD_MAX 1024

static void
usage(FILE *out)
{
	fprintf(out,
		"Usage: postier-passwd [-s SCHEME] [-u user@domain]\n"
		"Prints a password hash for postierd's passwd-file.\n\n"
		"  -s, --scheme SCHEME  SHA512-CRYPT (default), SHA256-CRYPT,\n"
		"                       BLF-CRYPT, MD5-CRYPT, CRYPT, PLAIN\n"
		"  -u, --user ADDRESS   print a whole passwd-file line\n"
		"  -h, --help           this help\n"
		"  -V, --version        print the version\n\n"
		"The password is read from standard input (first line) when it\n"
		"is not a terminal; otherwise it is asked twice without echo.\n");
}

/* Reads one line into buf (newline removed). Returns 0 or -1. */
static int
read_line(FILE *in, char *buf, size_t size)
{
	if (fgets(buf, size, in) == NULL)
		return -1;
	size_t len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if (len == size - 1)
		return -1; /* too long */
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	return 0;
}

static int
prompt(const char *text, char *buf, size_t size)
{
	FILE *tty = fopen("/dev/tty", "r+");
	if (tty == NULL)
		return -1;
	struct termios old, quiet;
	int fd = fileno(tty);
	fputs(text, tty);
	fflush(tty);
	if (tcgetattr(fd, &old) < 0) {
		fclose(tty);
		return -1;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fd, TCSAFLUSH, &quiet);
	int ret = read_line(tty, buf, size);
	tcsetattr(fd, TCSAFLUSH, &old);
	fputs("\n", tty);
	fclose(tty);
	return ret;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scheme", required_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *scheme = "SHA512-CRYPT", *user = NULL;
	int ch;
	while ((ch = getopt_long(argc, argv, "s:u:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			scheme = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("postier-passwd %s\n", POSTIER_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!password_scheme_is_known(scheme)) {
		fprintf(stderr, "postier-passwd: unknown scheme %s\n", scheme);
		return 2;
	}
	if (user != NULL && (user[0] == '\0' || strpbrk(user, ": \t\r\n"))) {
		fprintf(stderr, "postier-passwd: bad user name\n");
		return 2;
	}
	char pw[PASSWD_MAX], again[PASSWD_MAX];
	if (isatty(STDIN_FILENO)) {
		if (prompt("Password: ", pw, sizeof(pw)) < 0 ||
		    prompt("Again: ", again, sizeof(again)) < 0) {
			fprintf(stderr, "postier-passwd: cannot read the "
				"password\n");
			return 1;
		}
		if (strcmp(pw, again) != 0) {
			fprintf(stderr, "postier-passwd: passwords differ\n");
			return 1;
		}
		explicit_bzero(again, sizeof(again));
	} else if (read_line(stdin, pw, sizeof(pw)) < 0) {
		fprintf(stderr, "postier-passwd: no password on stdin "
			"(or longer than %d bytes)\n", PASSWD_MAX - 1);
		return 1;
	}
	if (strcasecmp(scheme, "PLAIN") == 0) {
		if (strpbrk(pw, ":") != NULL && user != NULL) {
			fprintf(stderr, "postier-passwd: a {PLAIN} password "
				"in a passwd-file line cannot contain ':'\n");
			return 1;
		}
	}
	const char *error;
	char *hash = password_hash(scheme, pw, &error);
	explicit_bzero(pw, sizeof(pw));
	if (hash == NULL) {
		fprintf(stderr, "postier-passwd: %s\n", error);
		return 1;
	}
	if (user != NULL)
		printf("%s:%s::::::\n", user, hash);
	else
		printf("%s\n", hash);
	free(hash);
	return 0;
}
