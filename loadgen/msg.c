/* msg.c: building and verifying load-test messages (see msg.h). Bodies are
 * slices of one pseudo-random text block made once, so building a message
 * costs a copy and a digest, not a random generator per byte. */
#include "postier.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "core/xmalloc.h"
#include "msg.h"
#include "rng.h"

#define LGMSG_LINE 76		/* base64 line length, RFC 2045 6.8 */
#define LGMSG_BLOCK_LINES 16384	/* ~1.3 MB of text */

static char *lgmsg_block;	/* lines of LGMSG_LINE chars + CRLF */
static size_t lgmsg_block_len;

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
	char *p = lgmsg_block;
	for (int l = 0; l < LGMSG_BLOCK_LINES; l++) {
		for (int i = 0; i < LGMSG_LINE; i++)
			*p++ = alphabet[rng_next(&r) & 63];
		*p++ = '\r';
		*p++ = '\n';
	}
	*p = '\0';
}

/* Appends about n bytes of whole lines, starting at a line chosen by seq. */
static void
lgmsg_text(struct buf *out, uint64_t seq, size_t n)
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
		lines -= take;
		start = 0;
	}
}

/* SHA-256 of "run seq\n" + body without CR and without trailing LFs. */
static void
lgmsg_digest(const char *run_id, uint64_t seq, const char *body, size_t len,
	char hex[65])
{
	unsigned char md[32];
	unsigned int md_len = 0;
	char prefix[96];
	int pl = snprintf(prefix, sizeof(prefix), "%s %" PRIu64 "\n", run_id,
		seq);
	while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r'))
		len--;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	PASSERT(ctx != NULL);
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, prefix, (size_t)pl);
	size_t pos = 0;
	while (pos < len) {
		const char *cr = memchr(body + pos, '\r', len - pos);
		size_t end = cr != NULL ? (size_t)(cr - body) : len;
		EVP_DigestUpdate(ctx, body + pos, end - pos);
		pos = end + (cr != NULL ? 1 : 0);
	}
	EVP_DigestFinal_ex(ctx, md, &md_len);
	EVP_MD_CTX_free(ctx);
	for (unsigned int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
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
	if (spec->attachment) {
		size_t first = text / 10;
		buf_printf(out, "This is a MIME message.\r\n\r\n--%s\r\n"
			"Content-Type: text/plain; charset=us-ascii\r\n\r\n",
			boundary);
		lgmsg_text(out, spec->seq, first);
		buf_printf(out, "\r\n--%s\r\nContent-Type: "
			"application/octet-stream\r\nContent-Transfer-Encoding:"
			" base64\r\nContent-Disposition: attachment; "
			"filename=\"report-%" PRIu64 ".bin\"\r\n\r\n", boundary,
			spec->seq);
		lgmsg_text(out, spec->seq + 1, text - first);
		buf_printf(out, "--%s--\r\n", boundary);
	} else {
		lgmsg_text(out, spec->seq, text);
	}
	char hex[65];
	lgmsg_digest(spec->run_id, spec->seq, buf_data(out) + body_start,
		buf_len(out) - body_start, hex);
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
