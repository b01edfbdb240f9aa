/* tls.h: TLS contexts (OpenSSL 3). This file holds the client side
 * (tls_client_*), used by the SMTP/POP3/IMAP client; server contexts live in
 * tls_server.h. Certificate checks are reported, not enforced: a monitoring
 * plugin must be able to connect to a server with an expired certificate and
 * say so, so the handshake never fails on verification and the caller reads
 * the verdict afterwards. */
#ifndef CORE_TLS_H
#define CORE_TLS_H

#include <stddef.h>
#include <time.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "postier.h"

/* Returns a new client context (TLS 1.2 or later) whose trust store is
 * ca_file (PEM, may be NULL: the system default paths). Peer verification
 * runs during the handshake but never aborts it (see tls_client_verify()).
 * Returns NULL and sets *error_r (static string or OpenSSL's) on failure.
 * The caller frees it with SSL_CTX_free(). May block reading ca_file. */
SSL_CTX *tls_client_ctx_new(const char *ca_file, const char **error_r);

/* Returns a new SSL for one connection: client mode, SNI set to server_name
 * when it is a host name (not an IP literal) and not NULL. */
SSL *tls_client_ssl_new(SSL_CTX *ctx, const char *server_name);

/* Chain verification result of a finished handshake: X509_V_OK (0) when the
 * peer's chain verified against the context's trust store, else an
 * X509_V_ERR_* code; *text_r gets a static description. */
long tls_client_verify(SSL *ssl, const char **text_r);

/* Returns true if cert is valid for name (host name: DNS SANs, wildcard
 * allowed, falling back to the subject CN when there are no SANs; IP literal:
 * IP SANs). */
bool tls_client_name_matches(X509 *cert, const char *name);

/* Seconds from now until cert's notAfter (negative when expired); sets
 * *not_after_r (may be NULL) to it as a time_t. Returns 0 or -1. */
int tls_client_cert_expiry(X509 *cert, long long *seconds_left_r,
	time_t *not_after_r);

/* Writes the subject as a one-line RFC 2253 string into out (always
 * NUL-terminated, truncated to out_size). */
void tls_client_cert_subject(X509 *cert, char *out, size_t out_size);

#endif
