/* tls.c: building and swapping the server TLS context (see tls.h). */
#include "postier.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "core/xmalloc.h"
#include "settings.h"
#include "tls.h"

static pthread_mutex_t tls_server_lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *tls_server_ctx;

static char *
tls_server_openssl_error(const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	char text[256];
	if (e != 0)
		ERR_error_string_n(e, text, sizeof(text));
	else
		snprintf(text, sizeof(text), "unknown error");
	ERR_clear_error();
	return xasprintf("%s %s: %s", what, path, text);
}

static SSL_CTX *
tls_server_ctx_build(const struct postierd_settings *set, char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*error_r = xstrdup("SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx,
		strcmp(set->tls_min_version, "TLSv1.3") == 0 ?
		TLS1_3_VERSION : TLS1_2_VERSION);
	/* No renegotiation, server's cipher order, no compression. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
		SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	/* Session tickets let reconnecting clients skip a full handshake. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"postierd", 8);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (set->tls_ciphers != NULL &&
		SSL_CTX_set_cipher_list(ctx, set->tls_ciphers) != 1) {
		*error_r = tls_server_openssl_error("bad cipher list",
			set->tls_ciphers);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, set->tls_cert_file) != 1) {
		*error_r = tls_server_openssl_error("cannot load certificate",
			set->tls_cert_file);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, set->tls_key_file,
		SSL_FILETYPE_PEM) != 1) {
		*error_r = tls_server_openssl_error("cannot load key",
			set->tls_key_file);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = tls_server_openssl_error("key does not match",
			set->tls_cert_file);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int
tls_server_configure(const struct postierd_settings *set, char **error_r)
{
	SSL_CTX *ctx = NULL;
	if (set->tls_cert_file != NULL) {
		ctx = tls_server_ctx_build(set, error_r);
		if (ctx == NULL)
			return -1;
	}
	pthread_mutex_lock(&tls_server_lock);
	SSL_CTX *old = tls_server_ctx;
	tls_server_ctx = ctx;
	pthread_mutex_unlock(&tls_server_lock);
	if (old != NULL)
		SSL_CTX_free(old);
	return 0;
}

bool
tls_server_available(void)
{
	pthread_mutex_lock(&tls_server_lock);
	bool ret = tls_server_ctx != NULL;
	pthread_mutex_unlock(&tls_server_lock);
	return ret;
}

SSL *
tls_server_ssl_new(void)
{
	SSL *ssl = NULL;
	pthread_mutex_lock(&tls_server_lock);
	if (tls_server_ctx != NULL)
		ssl = SSL_new(tls_server_ctx);
	pthread_mutex_unlock(&tls_server_lock);
	return ssl;
}

void
tls_server_deinit(void)
{
	pthread_mutex_lock(&tls_server_lock);
	SSL_CTX *old = tls_server_ctx;
	tls_server_ctx = NULL;
	pthread_mutex_unlock(&tls_server_lock);
	if (old != NULL)
		SSL_CTX_free(old);
}
