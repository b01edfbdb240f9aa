/* msg.c: building and verifying load-test messages (see msg.h). Bodies are
 * slices of one pseudo-random text block made once and never written again,
 * so a message is its header plus pointers into that block: building one
 * costs a header and a digest, not a copy of the text. */
#include "postier.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "core/log.h"
#include "core/xmalloc.h"
#include "msg.h"
#include "rng.h"

#define LGMSG_LINE 76		/* base64 line length, RFC 2045 6.8 */
#define LGMSG_BLOCK_LINES 4096	/* 320 KB of text */
/* one block line once normalised (CR removed): 76 chars + LF */
#define LGMSG_NLINE (LGMSG_LINE + 1)

/* The body digest is a polynomial hash modulo the Mersenne prime 2^61-1
 * of the normalised body: h = h * B + (byte + 1) for every byte but CR,
 * trailing CR/LF excluded. A changed byte changes it with probability
 * 1 - n/2^61. Its point is speed: the hash of any run of block lines comes
 * from a prefix table in O(1), so building a 140 KB message does not read
 * it. The header's digest is SHA-256 over run id, seq and this hash. */
#define LGMSG_P ((1ULL << 61) - 1)
#define LGMSG_B 0x5bd1e9955bd1e995ULL % ((1ULL << 61) - 1)

static char *lgmsg_block;	/* lines of LGMSG_LINE chars + CRLF */
static size_t lgmsg_block_len;
static uint64_t *lgmsg_prefix;	/* hash of normalised lines [0, l) */
static uint64_t *lgmsg_pow_line;	/* B^(77 k) */
static uint64_t lgmsg_inv_b;	/* B^-1 */

static uint64_t
lgmsg_mulmod(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;
	uint64_t lo = (uint64_t)r & LGMSG_P;
	uint64_t hi = (uint64_t)(r >> 61);
	uint64_t v = lo + hi;
	return v >= LGMSG_P ? v - LGMSG_P : v;
}

static uint64_t
lgmsg_addmod(uint64_t a, uint64_t b)
{
	uint64_t v = a + b;
	return v >= LGMSG_P ? v - LGMSG_P : v;
}

static uint64_t
lgmsg_powmod(uint64_t b, uint64_t e)
{
	uint64_t r = 1;
	while (e > 0) {
		if (e & 1)
			r = lgmsg_mulmod(r, b);
		b = lgmsg_mulmod(b, b);
		e >>= 1;
	}
	return r;
}

/* Hashes bytes into h, skipping CR. */
static uint64_t
lgmsg_hash_bytes(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\r')
			h = lgmsg_addmod(lgmsg_mulmod(h, LGMSG_B),
				(uint64_t)(unsigned char)s[i] + 1);
	}
	return h;
}

static void
lgmsg_block_init(void)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	if (lgmsg_block != NULL)
		return;
	struct rng r;
	rng_seed(&r, 0x706f73746965ULL);
	lgmsg_block_len = (size_t)LGMSG_BLOCK_LINES * (LGMSG_LINE + 2);
	lgmsg_block = xmalloc(lgmsg_block_len + 1);
	lgmsg_prefix = xmalloc((LGMSG_BLOCK_LINES + 1) * sizeof(uint64_t));
	lgmsg_pow_line = xmalloc((LGMSG_BLOCK_LINES + 1) * sizeof(uint64_t));
	uint64_t b_line = lgmsg_powmod(LGMSG_B, LGMSG_NLINE);
	lgmsg_prefix[0] = 0;
	lgmsg_pow_line[0] = 1;
	char *p = lgmsg_block;
	for (int l = 0; l < LGMSG_BLOCK_LINES; l++) {
		char *line = p;
		uint64_t x = 0;
		for (int i = 0; i < LGMSG_LINE; i++) {
			/* ten 6-bit characters per random number */
			if (i % 10 == 0)
				x = rng_next(&r);
			*p++ = alphabet[x & 63];
			x >>= 6;
		}
		*p++ = '\r';
		*p++ = '\n';
		lgmsg_prefix[l + 1] = lgmsg_hash_bytes(lgmsg_prefix[l], line,
			LGMSG_LINE + 2);
		lgmsg_pow_line[l + 1] = lgmsg_mulmod(lgmsg_pow_line[l], b_line);
	}
	*p = '\0';
	lgmsg_inv_b = lgmsg_powmod(LGMSG_B, LGMSG_P - 2);
}

/* Adds a segment of the message: n bytes at own offset off (own) or at p
 * in the block. Own segments get their address in lgmsg_iov_finish(), as
 * m->own may still move. */
static void
lgmsg_seg(struct lgmsg_iov *m, const char *p, size_t off, size_t n)
{
	if (n == 0)
		return;
	m->len += n;
	if (p == NULL && m->n > 0 && m->iov[m->n - 1].iov_base == NULL &&
	    m->own_off[m->n - 1] + m->iov[m->n - 1].iov_len == off) {
		m->iov[m->n - 1].iov_len += n;	/* contiguous own bytes */
		return;
	}
	if (m->n == m->cap) {
		m->cap = m->cap * 2 + 8;
		m->iov = xrealloc(m->iov, m->cap * sizeof(*m->iov));
		m->own_off = xrealloc(m->own_off, m->cap * sizeof(*m->own_off));
	}
	m->iov[m->n].iov_base = (void *)p;
	m->iov[m->n].iov_len = n;
	m->own_off[m->n] = off;
	m->n++;
}

/* Adds about n bytes of whole block lines, starting at a line chosen by
 * seq, as segments of the block, and their hash to *h. */
static void
lgmsg_text(struct lgmsg_iov *m, uint64_t *h, uint64_t seq, size_t n)
{
	const size_t line = LGMSG_LINE + 2;
	size_t lines = (n + line - 1) / line;
	if (lines == 0)
		lines = 1;
	size_t start = (size_t)((seq * 7919) % LGMSG_BLOCK_LINES);
	while (lines > 0) {
		size_t take = LGMSG_BLOCK_LINES - start;
		if (take > lines)
			take = lines;
		lgmsg_seg(m, lgmsg_block + start * line, 0, take * line);
		/* hash(slice) = P[s+k] - P[s] * B^(77k) */
		uint64_t slice = lgmsg_addmod(lgmsg_prefix[start + take],
			LGMSG_P - lgmsg_mulmod(lgmsg_prefix[start],
				lgmsg_pow_line[take]));
		*h = lgmsg_addmod(lgmsg_mulmod(*h, lgmsg_pow_line[take]), slice);
		lines -= take;
		start = 0;
	}
}

/* Adds formatted text of the body (own bytes) and its hash. */
static void
lgmsg_piece(struct lgmsg_iov *m, uint64_t *h, const char *fmt, ...)
	ATTR_PRINTF(3, 4);

static void
lgmsg_piece(struct lgmsg_iov *m, uint64_t *h, const char *fmt, ...)
{
	size_t before = buf_len(&m->own);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(&m->own, fmt, ap);
	va_end(ap);
	size_t n = buf_len(&m->own) - before;
	*h = lgmsg_hash_bytes(*h, buf_data(&m->own) + before, n);
	lgmsg_seg(m, NULL, before, n);
}

/* Appends the decimal digits of v (printf costs more than the rest of a
 * header). */
static void
lgmsg_append_u64(struct buf *b, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[sizeof(tmp) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	buf_append(b, tmp + sizeof(tmp) - n, n);
}

/* The header digest from the body hash: SHA-256 over
 * "<run id> <seq> <body hash as 16 hex digits>". */
static void
lgmsg_digest_final(const char *run_id, uint64_t seq, uint64_t body_hash,
	char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	/* fetched once: a fetch and a context per digest cost more than the
	 * digest */
	static EVP_MD *sha256;
	static EVP_MD_CTX *ctx;
	if (sha256 == NULL) {
		sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
		ctx = EVP_MD_CTX_new();
		PASSERT(sha256 != NULL && ctx != NULL);
	}
	char in[LGMSG_RUN_ID_MAX + 64];
	size_t rl = strlen(run_id);
	PASSERT(rl <= LGMSG_RUN_ID_MAX);
	memcpy(in, run_id, rl);
	size_t n = rl;
	in[n++] = ' ';
	char dec[20];
	size_t dl = 0;
	do {
		dec[sizeof(dec) - ++dl] = (char)('0' + seq % 10);
		seq /= 10;
	} while (seq > 0);
	memcpy(in + n, dec + sizeof(dec) - dl, dl);
	n += dl;
	in[n++] = ' ';
	for (int i = 15; i >= 0; i--)
		in[n++] = digits[(body_hash >> (4 * i)) & 15];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	if (EVP_DigestInit_ex2(ctx, sha256, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, in, n) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len != 32)
		log_panic("SHA-256 failed");
	for (unsigned int i = 0; i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}

/* Body hash of a fetched body: CR removed, trailing CR/LF excluded. */
static void
lgmsg_digest(const char *run_id, uint64_t seq, const char *body, size_t len,
	char hex[65])
{
	lgmsg_block_init();
	while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r'))
		len--;
	lgmsg_digest_final(run_id, seq, lgmsg_hash_bytes(0, body, len), hex);
}

void
lgmsg_iov_init(struct lgmsg_iov *m)
{
	memset(m, 0, sizeof(*m));
	buf_init(&m->own);
}

void
lgmsg_iov_clear(struct lgmsg_iov *m)
{
	buf_clear(&m->own);
	free(m->iov);
	free(m->own_off);
	memset(m, 0, sizeof(*m));
}

void
lgmsg_build_iov(struct lgmsg_iov *m, const struct lgmsg_spec *spec)
{
	lgmsg_block_init();
	buf_reset(&m->own);
	m->n = 0;
	m->len = 0;
	struct buf *out = &m->own;
	char boundary[64];
	if (spec->attachment)
		snprintf(boundary, sizeof(boundary), "=_postier_%s_%" PRIu64,
			spec->run_id, spec->seq);

	/* The header first, with a placeholder digest, to know its size.
	 * Pieces appended one by one: printf would cost more than the rest
	 * of the message. The date changes once a second. */
	static int64_t date_unix = -1;
	static char date[64];
	if (spec->date_unix != date_unix) {
		time_t t = (time_t)spec->date_unix;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000",
			&tm);
		date_unix = spec->date_unix;
	}
	buf_append_str(out, "From: <");
	buf_append_str(out, spec->from);
	buf_append_str(out, ">\r\nTo: ");
	for (unsigned int i = 0; i < spec->n_to; i++) {
		buf_append_str(out, i > 0 ? ",\r\n <" : "<");
		buf_append_str(out, spec->to[i]);
		buf_append_char(out, '>');
	}
	buf_append_str(out, "\r\nSubject: postier-loadgen ");
	buf_append_str(out, spec->run_id);
	buf_append_char(out, ' ');
	lgmsg_append_u64(out, spec->seq);
	buf_append_str(out, "\r\nDate: ");
	buf_append_str(out, date);
	buf_append_str(out, "\r\nMessage-ID: <");
	buf_append_str(out, spec->run_id);
	buf_append_char(out, '.');
	lgmsg_append_u64(out, spec->seq);
	buf_append_str(out, "@loadgen.postier>\r\nX-Postier-Loadgen: run=");
	buf_append_str(out, spec->run_id);
	buf_append_str(out, " seq=");
	lgmsg_append_u64(out, spec->seq);
	buf_append_str(out, " digest=");
	size_t digest_at = buf_len(out);
	memset(buf_reserve(out, 64), '0', 64);
	buf_commit(out, 64);
	buf_append_str(out, "\r\nMIME-Version: 1.0\r\n");
	if (spec->attachment)
		buf_printf(out, "Content-Type: multipart/mixed; "
			"boundary=\"%s\"\r\n\r\n", boundary);
	else
		buf_append_str(out, "Content-Type: text/plain; "
			"charset=us-ascii\r\n\r\n");
	size_t header = buf_len(out);
	lgmsg_seg(m, NULL, 0, header);

	size_t overhead = header + (spec->attachment ? 330 : 0);
	size_t text = spec->size > overhead + 78 ? spec->size - overhead : 78;
	uint64_t h = 0;
	if (spec->attachment) {
		size_t first = text / 10;
		lgmsg_piece(m, &h, "This is a MIME message.\r\n\r\n--%s\r\n"
			"Content-Type: text/plain; charset=us-ascii\r\n\r\n",
			boundary);
		lgmsg_text(m, &h, spec->seq, first);
		lgmsg_piece(m, &h, "\r\n--%s\r\nContent-Type: "
			"application/octet-stream\r\nContent-Transfer-Encoding:"
			" base64\r\nContent-Disposition: attachment; "
			"filename=\"report-%" PRIu64 ".bin\"\r\n\r\n", boundary,
			spec->seq);
		lgmsg_text(m, &h, spec->seq + 1, text - first);
		lgmsg_piece(m, &h, "--%s--\r\n", boundary);
	} else {
		lgmsg_text(m, &h, spec->seq, text);
	}
	/* Every body ends in one CRLF, which the digest excludes: take the
	 * final LF back out of the hash. */
	PASSERT(m->len > header + 2);
	h = lgmsg_mulmod(lgmsg_addmod(h, LGMSG_P - ((uint64_t)'\n' + 1)),
		lgmsg_inv_b);
	char hex[65];
	lgmsg_digest_final(spec->run_id, spec->seq, h, hex);
	memcpy(out->data + digest_at, hex, 64);
	/* m->own is complete: give its segments their addresses */
	for (unsigned int i = 0; i < m->n; i++) {
		if (m->iov[i].iov_base == NULL)
			m->iov[i].iov_base = out->data + m->own_off[i];
	}
}

void
lgmsg_build(struct buf *out, const struct lgmsg_spec *spec)
{
	struct lgmsg_iov m;
	lgmsg_iov_init(&m);
	lgmsg_build_iov(&m, spec);
	for (unsigned int i = 0; i < m.n; i++)
		buf_append(out, m.iov[i].iov_base, m.iov[i].iov_len);
	lgmsg_iov_clear(&m);
}

/* Finds the end of the header (the empty line); sets *body_r. */
static size_t
lgmsg_header_end(const char *data, size_t len, size_t *body_r)
{
	size_t pos = 0;
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		if (nl == NULL)
			break;
		size_t ls = pos;
		size_t le = (size_t)(nl - data);
		pos = le + 1;
		if (le == ls || (le == ls + 1 && data[ls] == '\r')) {
			*body_r = pos;
			return ls;
		}
	}
	*body_r = len;
	return len;
}

int
lgmsg_verify(const char *data, size_t len, const char *run_id,
	uint64_t *seq_r)
{
	static const char name[] = "X-Postier-Loadgen:";
	size_t body;
	size_t hend = lgmsg_header_end(data, len, &body);
	*seq_r = UINT64_MAX;
	const char *h = NULL;
	for (size_t pos = 0; pos + sizeof(name) - 1 <= hend;) {
		if (strncasecmp(data + pos, name, sizeof(name) - 1) == 0) {
			h = data + pos + sizeof(name) - 1;
			break;
		}
		const char *nl = memchr(data + pos, '\n', hend - pos);
		if (nl == NULL)
			break;
		pos = (size_t)(nl - data) + 1;
	}
	if (h == NULL)
		return 0;
	char line[256];
	size_t ll = 0;
	while (h + ll < data + hend && h[ll] != '\r' && h[ll] != '\n' &&
	       ll < sizeof(line) - 1) {
		line[ll] = h[ll];
		ll++;
	}
	line[ll] = '\0';
	char run[LGMSG_RUN_ID_MAX + 2], hex[80];
	uint64_t seq;
	if (sscanf(line, " run=%41[A-Za-z0-9-] seq=%" SCNu64 " digest=%79[0-9a-f]",
		   run, &seq, hex) != 3)
		return strstr(line, run_id) != NULL ? -1 : 0;
	if (strcmp(run, run_id) != 0)
		return 0;
	*seq_r = seq;
	char want[65];
	lgmsg_digest(run_id, seq, data + body, len - body, want);
	return strcmp(want, hex) == 0 ? 1 : -1;
}
