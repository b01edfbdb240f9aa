/* msg.c: building and verifying load-test messages (see msg.h). Bodies are
 * slices of one pseudo-random text block made once, so building a message
 * costs a copy and a digest, not a random generator per byte. */
#include "postier.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/sha.h>

#include "core/xmalloc.h"
#include "msg.h"
#include "rng.h"

#define LGMSG_LINE 76		/* base64 line length, RFC 2045 6.8 */
#define LGMSG_BLOCK_LINES 16384	/* ~1.3 MB of text */
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
		for (int i = 0; i < LGMSG_LINE; i++)
			*p++ = alphabet[rng_next(&r) & 63];
		*p++ = '\r';
		*p++ = '\n';
		lgmsg_prefix[l + 1] = lgmsg_hash_bytes(lgmsg_prefix[l], line,
			LGMSG_LINE + 2);
		lgmsg_pow_line[l + 1] = lgmsg_mulmod(lgmsg_pow_line[l], b_line);
	}
	*p = '\0';
	lgmsg_inv_b = lgmsg_powmod(LGMSG_B, LGMSG_P - 2);
}

/* Appends about n bytes of whole block lines, starting at a line chosen by
 * seq, to out and their hash to *h. */
static void
lgmsg_text(struct buf *out, uint64_t *h, uint64_t seq, size_t n)
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
		buf_append(out, lgmsg_block + start * line, take * line);
		/* hash(slice) = P[s+k] - P[s] * B^(77k) */
		uint64_t slice = lgmsg_addmod(lgmsg_prefix[start + take],
			LGMSG_P - lgmsg_mulmod(lgmsg_prefix[start],
				lgmsg_pow_line[take]));
		*h = lgmsg_addmod(lgmsg_mulmod(*h, lgmsg_pow_line[take]), slice);
		lines -= take;
		start = 0;
	}
}

/* Appends formatted text to out and to the hash. */
static void
lgmsg_piece(struct buf *out, uint64_t *h, const char *fmt, ...)
	ATTR_PRINTF(3, 4);

static void
lgmsg_piece(struct buf *out, uint64_t *h, const char *fmt, ...)
{
	size_t before = buf_len(out);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(out, fmt, ap);
	va_end(ap);
	*h = lgmsg_hash_bytes(*h, buf_data(out) + before, buf_len(out) - before);
}

/* The header digest from the body hash. */
static void
lgmsg_digest_final(const char *run_id, uint64_t seq, uint64_t body_hash,
	char hex[65])
{
	unsigned char md[32];
	char in[128];
	int n = snprintf(in, sizeof(in), "%s %" PRIu64 " %016" PRIx64, run_id,
		seq, body_hash);
	SHA256((const unsigned char *)in, (size_t)n, md);
	for (unsigned int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
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
lgmsg_build(struct buf *out, const struct lgmsg_spec *spec)
{
	lgmsg_block_init();
	char boundary[64];
	snprintf(boundary, sizeof(boundary), "=_postier_%s_%" PRIu64,
		spec->run_id, spec->seq);

	/* The header first, with a placeholder digest, to know its size. */
	char date[64];
	time_t t = (time_t)spec->date_unix;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	size_t start = buf_len(out);
	buf_printf(out, "From: <%s>\r\nTo: ", spec->from);
	for (unsigned int i = 0; i < spec->n_to; i++)
		buf_printf(out, "%s<%s>", i > 0 ? ",\r\n " : "", spec->to[i]);
	buf_printf(out, "\r\nSubject: postier-loadgen %s %" PRIu64 "\r\n"
		"Date: %s\r\nMessage-ID: <%s.%" PRIu64 "@loadgen.postier>\r\n"
		"X-Postier-Loadgen: run=%s seq=%" PRIu64 " digest=", spec->run_id,
		spec->seq, date, spec->run_id, spec->seq, spec->run_id,
		spec->seq);
	size_t digest_at = buf_len(out);
	buf_printf(out, "%064d\r\nMIME-Version: 1.0\r\n", 0);
	if (spec->attachment)
		buf_printf(out, "Content-Type: multipart/mixed; "
			"boundary=\"%s\"\r\n\r\n", boundary);
	else
		buf_append_str(out, "Content-Type: text/plain; "
			"charset=us-ascii\r\n\r\n");
	size_t header = buf_len(out) - start;
	size_t body_start = buf_len(out);

	size_t overhead = header + (spec->attachment ? 330 : 0);
	size_t text = spec->size > overhead + 78 ? spec->size - overhead : 78;
	uint64_t h = 0;
	if (spec->attachment) {
		size_t first = text / 10;
		lgmsg_piece(out, &h, "This is a MIME message.\r\n\r\n--%s\r\n"
			"Content-Type: text/plain; charset=us-ascii\r\n\r\n",
			boundary);
		lgmsg_text(out, &h, spec->seq, first);
		lgmsg_piece(out, &h, "\r\n--%s\r\nContent-Type: "
			"application/octet-stream\r\nContent-Transfer-Encoding:"
			" base64\r\nContent-Disposition: attachment; "
			"filename=\"report-%" PRIu64 ".bin\"\r\n\r\n", boundary,
			spec->seq);
		lgmsg_text(out, &h, spec->seq + 1, text - first);
		lgmsg_piece(out, &h, "--%s--\r\n", boundary);
	} else {
		lgmsg_text(out, &h, spec->seq, text);
	}
	/* Every body ends in one CRLF, which the digest excludes: take the
	 * final LF back out of the hash. */
	PASSERT(buf_len(out) > body_start + 2);
	h = lgmsg_mulmod(lgmsg_addmod(h, LGMSG_P - ((uint64_t)'\n' + 1)),
		lgmsg_inv_b);
	char hex[65];
	lgmsg_digest_final(spec->run_id, spec->seq, h, hex);
	memcpy(out->data + digest_at, hex, 64);
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
