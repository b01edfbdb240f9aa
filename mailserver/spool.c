/* spool.c: the spool file format (spool.h): records out, records in. The
 * parser is incremental and strict: a record that does not fit the grammar
 * makes the whole file malformed; nothing is guessed. */
#include "postier.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "spool.h"

void
spool_append_header(struct buf *out, enum spool_record_type type, size_t len)
{
	PASSERT(len <= UINT32_MAX);
	unsigned char h[SPOOL_RECORD_HEADER_LEN] = {
		(unsigned char)type, (unsigned char)(len >> 24),
		(unsigned char)(len >> 16), (unsigned char)(len >> 8),
		(unsigned char)len,
	};
	buf_append(out, h, sizeof(h));
}

void
spool_append_record(struct buf *out, enum spool_record_type type,
	const void *payload, size_t len)
{
	spool_append_header(out, type, len);
	buf_append(out, payload, len);
}

void
spool_parser_init(struct spool_parser *p)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->pending);
}

void
spool_parser_clear(struct spool_parser *p)
{
	buf_clear(&p->pending);
}

void
spool_parser_feed(struct spool_parser *p, const void *data, size_t len)
{
	PASSERT(p->input_len == 0);
	p->input = data;
	p->input_len = len;
}

bool
spool_parser_ended(const struct spool_parser *p)
{
	return p->ended && !p->failed;
}

/* Moves input into pending until it holds want bytes. True when it does. */
static bool
spool_parser_fill(struct spool_parser *p, size_t want)
{
	size_t have = buf_len(&p->pending);
	if (have >= want)
		return true;
	size_t n = want - have;
	if (n > p->input_len)
		n = p->input_len;
	buf_append(&p->pending, p->input, n);
	p->input += n;
	p->input_len -= n;
	return buf_len(&p->pending) >= want;
}

static bool
spool_type_is_known(unsigned char t)
{
	return strchr("ITNFHCASRDE", t) != NULL && t != '\0';
}

static int
spool_parser_fail(struct spool_parser *p, const char *why,
	const char **error_r)
{
	p->failed = true;
	*error_r = why;
	return -1;
}

int
spool_parser_next(struct spool_parser *p, struct spool_record *rec_r,
	const char **error_r)
{
	if (p->failed) {
		*error_r = "parser already failed";
		return -1;
	}
	if (!p->magic_done) {
		/* compare as bytes arrive so garbage fails early */
		bool full = spool_parser_fill(p, SPOOL_MAGIC_LEN);
		if (memcmp(buf_data(&p->pending), SPOOL_MAGIC,
		    buf_len(&p->pending)) != 0)
			return spool_parser_fail(p, "bad magic", error_r);
		if (!full)
			return 0;
		buf_reset(&p->pending);
		p->offset = SPOOL_MAGIC_LEN;
		p->magic_done = true;
	}
	/* a record returned by the previous call is consumed now */
	if (p->record_out) {
		buf_reset(&p->pending);
		p->record_out = false;
	}
	if (p->ended) {
		if (p->input_len > 0)
			return spool_parser_fail(p, "data after END record",
				error_r);
		return 0;
	}
	if (buf_len(&p->pending) == 0 && p->input_len == 0)
		return 0;
	if (!spool_parser_fill(p, SPOOL_RECORD_HEADER_LEN)) {
		if (!spool_type_is_known((unsigned char)buf_data(&p->pending)[0]))
			return spool_parser_fail(p, "unknown record type",
				error_r);
		return 0;
	}
	const unsigned char *h = (const unsigned char *)buf_data(&p->pending);
	unsigned char type = h[0];
	uint32_t len = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 |
		(uint32_t)h[3] << 8 | h[4];
	if (!spool_type_is_known(type))
		return spool_parser_fail(p, "unknown record type", error_r);
	if (type == SPOOL_REC_DATA ? len > SPOOL_MAX_DATA_RECORD :
	    len > SPOOL_MAX_META_RECORD)
		return spool_parser_fail(p, "record too long", error_r);
	if (type == SPOOL_REC_DATA)
		p->data_seen = true;
	else if (p->data_seen && type != SPOOL_REC_RCPT &&
	    type != SPOOL_REC_END)
		return spool_parser_fail(p, "envelope record after data",
			error_r);
	if (!spool_parser_fill(p, SPOOL_RECORD_HEADER_LEN + len))
		return 0;

	rec_r->type = type;
	rec_r->payload = buf_data(&p->pending) + SPOOL_RECORD_HEADER_LEN;
	rec_r->len = len;
	rec_r->offset = p->offset + SPOOL_RECORD_HEADER_LEN;
	p->offset += SPOOL_RECORD_HEADER_LEN + len;
	if (type == SPOOL_REC_END) {
		p->ended = true;
		if (p->input_len > 0)
			return spool_parser_fail(p, "data after END record",
				error_r);
	}
	/* the payload stays valid until the next call resets pending */
	p->record_out = true;
	return 1;
}

static char *
spool_payload_str(const struct spool_record *rec, const char **error_r)
{
	if (memchr(rec->payload, '\0', rec->len) != NULL) {
		*error_r = "NUL in text record";
		return NULL;
	}
	return xstrndup(rec->payload, rec->len);
}

static int
spool_set_str(char **field, const struct spool_record *rec,
	const char **error_r)
{
	if (*field != NULL) {
		*error_r = "envelope record repeated";
		return -1;
	}
	*field = spool_payload_str(rec, error_r);
	return *field == NULL ? -1 : 0;
}

static int
spool_parse_u64(const char *s, size_t len, uint64_t *v_r)
{
	if (len == 0 || len > 20)
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		uint64_t nv = v * 10 + (uint64_t)(s[i] - '0');
		if (nv / 10 != v)
			return -1;
		v = nv;
	}
	*v_r = v;
	return 0;
}

int
spool_envelope_add(struct spool_envelope *env, const struct spool_record *rec,
	const char **error_r)
{
	switch (rec->type) {
	case SPOOL_REC_ID:
		if (rec->len == 0 || memchr(rec->payload, '/', rec->len)) {
			*error_r = "bad queue id";
			return -1;
		}
		return spool_set_str(&env->id, rec, error_r);
	case SPOOL_REC_HOST:
		return spool_set_str(&env->host, rec, error_r);
	case SPOOL_REC_FROM:
		return spool_set_str(&env->from, rec, error_r);
	case SPOOL_REC_HELO:
		return spool_set_str(&env->helo, rec, error_r);
	case SPOOL_REC_CLIENT:
		return spool_set_str(&env->client, rec, error_r);
	case SPOOL_REC_AUTH:
		return spool_set_str(&env->auth, rec, error_r);
	case SPOOL_REC_SID:
		return spool_set_str(&env->sid, rec, error_r);
	case SPOOL_REC_TIME: {
		uint64_t t;
		if (env->time_us != 0 ||
		    spool_parse_u64(rec->payload, rec->len, &t) < 0 ||
		    t == 0 || t > INT64_MAX) {
			*error_r = "bad time record";
			return -1;
		}
		env->time_us = (int64_t)t;
		return 0;
	}
	case SPOOL_REC_RCPT: {
		const char *nul = memchr(rec->payload, '\0', rec->len);
		if (nul == NULL || nul == rec->payload ||
		    (size_t)(nul - rec->payload) + 2 > rec->len ||
		    memchr(nul + 1, '\0', rec->len - (nul + 1 - rec->payload))
		    != NULL || nul[1] != '/') {
			*error_r = "bad recipient record";
			return -1;
		}
		env->rcpts = xrealloc(env->rcpts,
			(env->rcpt_count + 1) * sizeof(*env->rcpts));
		struct spool_rcpt *r = &env->rcpts[env->rcpt_count++];
		r->address = xstrndup(rec->payload, nul - rec->payload);
		r->maildir = xstrndup(nul + 1,
			rec->len - (nul + 1 - rec->payload));
		return 0;
	}
	case SPOOL_REC_DATA:
		if (rec->len == 0) {
			*error_r = "empty data record";
			return -1;
		}
		if ((env->data_count & (env->data_count - 1)) == 0) {
			size_t cap = env->data_count == 0 ? 4 :
				env->data_count * 2;
			env->data = xrealloc(env->data,
				cap * sizeof(*env->data));
		}
		env->data[env->data_count].offset = rec->offset;
		env->data[env->data_count].len = (uint32_t)rec->len;
		env->data_count++;
		env->size += rec->len;
		return 0;
	case SPOOL_REC_END: {
		/* "size vsize rcpts" */
		uint64_t v[3];
		const char *p = rec->payload, *end = p + rec->len;
		for (int i = 0; i < 3; i++) {
			const char *sp = i < 2 ? memchr(p, ' ', end - p) : end;
			if (sp == NULL || spool_parse_u64(p, sp - p, &v[i]) < 0) {
				*error_r = "bad END record";
				return -1;
			}
			p = sp + (i < 2);
		}
		if (v[0] != env->size || v[2] != env->rcpt_count ||
		    v[1] < v[0]) {
			*error_r = "END record disagrees with the file";
			return -1;
		}
		if (env->id == NULL || env->time_us == 0 || env->from == NULL ||
		    env->rcpt_count == 0) {
			*error_r = "envelope incomplete at END";
			return -1;
		}
		env->vsize = v[1];
		return 0;
	}
	}
	*error_r = "unknown record type";
	return -1;
}

void
spool_envelope_clear(struct spool_envelope *env)
{
	free(env->id);
	free(env->host);
	free(env->from);
	free(env->helo);
	free(env->client);
	free(env->auth);
	free(env->sid);
	for (size_t i = 0; i < env->rcpt_count; i++) {
		free(env->rcpts[i].address);
		free(env->rcpts[i].maildir);
	}
	free(env->rcpts);
	free(env->data);
	memset(env, 0, sizeof(*env));
}

int
spool_read_envelope(int fd, struct spool_envelope *env_r, char **error_r)
{
	memset(env_r, 0, sizeof(*env_r));
	struct spool_parser p;
	spool_parser_init(&p);
	char *data = xmalloc(65536);
	int ret = 0;
	bool eof = false;
	while (ret == 0) {
		struct spool_record rec;
		const char *err;
		int n = spool_parser_next(&p, &rec, &err);
		if (n > 0) {
			if (spool_envelope_add(env_r, &rec, &err) < 0) {
				*error_r = xasprintf("%s", err);
				ret = -1;
			}
			continue;
		}
		if (n < 0) {
			*error_r = xasprintf("%s", err);
			ret = -1;
			break;
		}
		if (eof)
			break;
		ssize_t got = read(fd, data, 65536);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			*error_r = xasprintf("read: %s", strerror(errno));
			ret = -1;
		} else if (got == 0) {
			eof = true;
		} else {
			spool_parser_feed(&p, data, got);
		}
	}
	if (ret == 0 && spool_parser_ended(&p))
		ret = 1;
	free(data);
	spool_parser_clear(&p);
	if (ret <= 0)
		spool_envelope_clear(env_r);
	return ret;
}
