/* tls.h: the server TLS context of postierd (STARTTLS and implicit TLS).
 *
 * One context built from [tls] (certificate chain, key, minimum version,
 * ciphers). SIGHUP builds a new one and swaps it in: new handshakes use it,
 * running sessions keep theirs (an SSL holds a reference to its context).
 * The client side lives in lib/core/tls.h. */
#ifndef MAILSERVER_TLS_H
#define MAILSERVER_TLS_H

#include <openssl/ssl.h>
#include "postier.h"

struct postierd_settings;

/* Builds the context from set (no TLS when set has no certificate). Returns
 * 0, or -1 with *error_r (heap) when the files do not load; the previous
 * context then stays. Blocks reading the files. Thread-safe. */
int tls_server_configure(const struct postierd_settings *set, char **error_r);
/* Whether a certificate is configured. */
bool tls_server_available(void);
/* A new server-side SSL for one connection, or NULL when TLS is not
 * configured. The caller owns it. Thread-safe. */
SSL *tls_server_ssl_new(void);
/* Frees the context (at exit). */
void tls_server_deinit(void);

#endif
