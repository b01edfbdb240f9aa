/* tls.c: client TLS contexts and certificate inspection (see tls.h). */
#include "postier.h"

#include <string.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "core/tls.h"

static int
tls_client_verify_cb(int preverify_ok ATTR_UNUSED,
	X509_STORE_CTX *ctx ATTR_UNUSED)
{
	/* Keep going: the result stays available via SSL_get_verify_result(). */
	return 1;
}

SSL_CTX *
tls_client_ctx_new(const char *ca_file, const char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		*error_r = "SSL_CTX_new failed";
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (ca_file != NULL && ca_file[0] != '\0') {
		if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
			unsigned long e = ERR_get_error();
			*error_r = e != 0 ? ERR_reason_error_string(e) : NULL;
			if (*error_r == NULL)
				*error_r = "cannot load CA file";
			ERR_clear_error();
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else {
		SSL_CTX_set_default_verify_paths(ctx);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls_client_verify_cb);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

static bool
tls_is_ip_literal(const char *name)
{
	unsigned char tmp[16];
	return inet_pton(AF_INET, name, tmp) == 1 ||
		inet_pton(AF_INET6, name, tmp) == 1;
}

SSL *
tls_client_ssl_new(SSL_CTX *ctx, const char *server_name)
{
	SSL *ssl = SSL_new(ctx);
	PASSERT(ssl != NULL);
	if (server_name != NULL && server_name[0] != '\0' &&
	    !tls_is_ip_literal(server_name))
		SSL_set_tlsext_host_name(ssl, server_name);
	return ssl;
}

long
tls_client_verify(SSL *ssl, const char **text_r)
{
	long v = SSL_get_verify_result(ssl);
	X509 *peer = SSL_get0_peer_certificate(ssl);
	if (peer == NULL && v == X509_V_OK)
		v = X509_V_ERR_UNSPECIFIED;
	if (text_r != NULL)
		*text_r = peer == NULL ? "no peer certificate" :
			X509_verify_cert_error_string(v);
	return v;
}

bool
tls_client_name_matches(X509 *cert, const char *name)
{
	if (tls_is_ip_literal(name))
		return X509_check_ip_asc(cert, name, 0) == 1;
	return X509_check_host(cert, name, strlen(name), 0, NULL) == 1;
}

int
tls_client_cert_expiry(X509 *cert, long long *seconds_left_r,
	time_t *not_after_r)
{
	const ASN1_TIME *na = X509_get0_notAfter(cert);
	int days, secs;
	if (na == NULL || ASN1_TIME_diff(&days, &secs, NULL, na) != 1)
		return -1;
	long long left = (long long)days * 86400 + secs;
	*seconds_left_r = left;
	if (not_after_r != NULL)
		*not_after_r = time(NULL) + (time_t)left;
	return 0;
}

void
tls_client_cert_subject(X509 *cert, char *out, size_t out_size)
{
	if (out_size == 0)
		return;
	out[0] = '\0';
	BIO *bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		return;
	X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
		XN_FLAG_RFC2253);
	int n = BIO_read(bio, out, (int)out_size - 1);
	out[n > 0 ? n : 0] = '\0';
	BIO_free(bio);
}
