/* client.h: what the SMTP, POP3 and IMAP clients (smtpc.h, pop3c.h,
 * imapc.h) share: where to connect, TLS mode, timeouts, result codes and
 * per-step timings. One client implementation serves postier-loadgen (many
 * sessions on one event_base), the Nagios plugins and the probes (one session
 * driven synchronously through sync.h).
 *
 * Result of every client operation, passed to its callback:
 *   CLIENT_OK (1)      the server answered positively (2xx/3xx as expected,
 *                      +OK, tagged OK);
 *   CLIENT_NEGATIVE (0) the server answered negatively (4xx/5xx, -ERR, NO,
 *                      BAD): read the reply; the session is still usable;
 *   CLIENT_ERROR (-1)  no usable answer (connect failure, timeout, TLS
 *                      failure, malformed reply, connection closed): read
 *                      the client's error string; the session is dead and
 *                      can only be freed. */
#ifndef CLIENT_CLIENT_H
#define CLIENT_CLIENT_H

#include <stdint.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include "postier.h"

#define CLIENT_OK 1
#define CLIENT_NEGATIVE 0
#define CLIENT_ERROR (-1)

enum client_tls {
	CLIENT_TLS_NONE,
	CLIENT_TLS_STARTTLS,	/* STARTTLS / STLS after the greeting */
	CLIENT_TLS_IMPLICIT,	/* TLS from the first byte (465, 993, 995) */
};

/* Parses "none", "starttls", "implicit" (also "tls", "ssl" for implicit).
 * Returns 0 or -1. */
int client_tls_parse(const char *s, enum client_tls *tls_r);
const char *client_tls_name(enum client_tls tls);

struct client_opts {
	const char *host;	/* name or IP literal; copied by *_new() */
	unsigned int port;
	int family;		/* AF_UNSPEC, AF_INET or AF_INET6 */
	enum client_tls tls;
	/* TLS context (borrowed, must outlive the client). NULL: the client
	 * makes its own from ca_file when TLS is used. */
	SSL_CTX *ssl_ctx;
	const char *ca_file;	/* copied; NULL = system trust store */
	/* Name sent as SNI and the one certificate checks refer to;
	 * NULL = host. Copied. */
	const char *server_name;
	/* Limit of each step (connect, handshake, one command's reply);
	 * 0 = 30 s. */
	int timeout_ms;
};

/* Durations of the steps of a session in microseconds, measured on the
 * monotonic clock; 0 when the step did not happen. */
struct client_timing {
	int64_t connect_us;	/* TCP connect */
	int64_t tls_us;		/* TLS handshake (implicit or after STARTTLS) */
	int64_t greeting_us;	/* connect done -> greeting/banner complete */
	int64_t auth_us;	/* AUTH / LOGIN / USER+PASS */
	int64_t last_us;	/* the last operation, whatever it was */
};

/* Monotonic clock in microseconds. */
int64_t client_now_us(void);

#endif
