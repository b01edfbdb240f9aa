/* test_spool.c: the spool record parser against the fixed vector
 * (tests/vectors/spool/basic.spool), whole, one byte at a time, at every
 * truncation, and on malformed files. */
#include "postier.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "spool.h"

static char *
read_vector(const char *name, size_t *len_r)
{
	const char *src = getenv("POSTIER_SOURCE_DIR");
	char *path = xasprintf("%s/tests/vectors/spool/%s",
		src != NULL ? src : "../..", name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s (POSTIER_SOURCE_DIR?)", path);
	struct buf b;
	buf_init(&b);
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	free(path);
	*len_r = buf_len(&b);
	return buf_steal(&b);
}

/* Feeds data in pieces of step bytes (0: whole). Writes "T:len;" per record
 * into out. Returns the parser's last result: 1 ended, 0 incomplete, -1
 * malformed. */
static int
parse(const char *data, size_t len, size_t step, struct buf *out,
	struct spool_envelope *env)
{
	struct spool_parser p;
	spool_parser_init(&p);
	int ret = 0;
	size_t pos = 0;
	const char *err;
	do {
		size_t n = step == 0 ? len - pos :
			(len - pos < step ? len - pos : step);
		spool_parser_feed(&p, data + pos, n);
		pos += n;
		struct spool_record rec;
		int r;
		while ((r = spool_parser_next(&p, &rec, &err)) > 0) {
			buf_printf(out, "%c:%zu;", rec.type, rec.len);
			if (env != NULL && spool_envelope_add(env, &rec, &err) < 0) {
				r = -1;
				break;
			}
		}
		if (r < 0) {
			ret = -1;
			break;
		}
	} while (pos < len);
	if (ret == 0 && spool_parser_ended(&p))
		ret = 1;
	spool_parser_clear(&p);
	return ret;
}

static const char want_records[] =
	"I:23;T:16;N:14;F:18;H:18;C:10;A:18;S:16;R:54;D:56;D:22;R:50;E:7;";

static void
test_vector_whole_and_bytewise(void **state ATTR_UNUSED)
{
	size_t len;
	char *data = read_vector("basic.spool", &len);
	struct buf whole, bytes;
	buf_init(&whole);
	buf_init(&bytes);
	struct spool_envelope env = { 0 };
	assert_int_equal(parse(data, len, 0, &whole, &env), 1);
	assert_int_equal(parse(data, len, 1, &bytes, NULL), 1);
	assert_string_equal(buf_data(&whole), want_records);
	assert_string_equal(buf_data(&bytes), want_records);
	assert_string_equal(env.id, "1764000000.M000001P42Q7");
	assert_string_equal(env.host, "mx.example.org");
	assert_string_equal(env.from, "sender@example.net");
	assert_string_equal(env.auth, "sender@example.net");
	assert_int_equal(env.time_us, 1764000000000001LL);
	assert_int_equal(env.rcpt_count, 2);
	assert_string_equal(env.rcpts[0].address, "alice@example.org");
	assert_string_equal(env.rcpts[1].maildir,
		"/var/vmail/example.org/bob/Maildir");
	assert_int_equal(env.data_count, 2);
	assert_int_equal(env.size, 78);
	assert_int_equal(env.vsize, 79);
	/* the data offsets point at the message bytes in the file */
	assert_memory_equal(data + env.data[0].offset, "Subject: vector", 15);
	assert_memory_equal(data + env.data[1].offset, "second chunk", 12);
	spool_envelope_clear(&env);
	buf_clear(&whole);
	buf_clear(&bytes);
	free(data);
}

static void
test_vector_every_truncation(void **state ATTR_UNUSED)
{
	size_t len;
	char *data = read_vector("basic.spool", &len);
	for (size_t cut = 0; cut < len; cut++) {
		for (size_t step = 0; step <= 1; step++) {
			struct buf out;
			buf_init(&out);
			struct spool_envelope env = { 0 };
			int r = parse(data, cut, step, &out, &env);
			if (r != 0)
				fail_msg("truncated at %zu (step %zu): got %d, "
					"want incomplete", cut, step, r);
			spool_envelope_clear(&env);
			buf_clear(&out);
		}
		/* the file reader agrees */
		char path[] = "/tmp/test_spool_XXXXXX";
		int fd = mkstemp(path);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, data, cut), (ssize_t)cut);
		lseek(fd, 0, SEEK_SET);
		struct spool_envelope env;
		char *error = NULL;
		int r = spool_read_envelope(fd, &env, &error);
		if (r != 0)
			fail_msg("spool_read_envelope at %zu: %d (%s)", cut, r,
				error != NULL ? error : "");
		close(fd);
		unlink(path);
	}
	free(data);
}

struct bad_case {
	const char *name;
	size_t cut_at;      /* replace the vector from this offset ... */
	const char *tail;   /* ... with these bytes */
	size_t tail_len;
	int want;           /* parser result */
};

static void
test_malformed(void **state ATTR_UNUSED)
{
	size_t len;
	char *data = read_vector("basic.spool", &len);
	const size_t end_at = len - 12; /* the E record */
	const size_t after_magic = SPOOL_MAGIC_LEN;
	static const char end_wrong_size[] = "E\0\0\0\x07" "77 79 2";
	static const char end_wrong_rcpts[] = "E\0\0\0\x07" "78 79 3";
	static const char end_garbage[] = "E\0\0\0\x07" "78 x9 2";
	static const char after_end[] = "E\0\0\0\x07" "78 79 2X";
	static const char unknown[] = "Z\0\0\0\x01" "x";
	static const char huge[] = "F\x7f\0\0\0";
	static const char huge_data[] = "D\0\x20\0\x01";
	static const char helo_after_data[] = "H\0\0\0\x01" "x";
	const struct bad_case cases[] = {
		{ "bad magic", 0, "POSTIER-SPOOL 2\n", 16, -1 },
		{ "garbage first byte", 0, "X", 1, -1 },
		{ "unknown type", after_magic, unknown, sizeof(unknown) - 1, -1 },
		{ "meta record too long", after_magic, huge, sizeof(huge) - 1, -1 },
		{ "data record too long", after_magic, huge_data,
			sizeof(huge_data) - 1, -1 },
		{ "END size mismatch", end_at, end_wrong_size,
			sizeof(end_wrong_size) - 1, -1 },
		{ "END rcpt mismatch", end_at, end_wrong_rcpts,
			sizeof(end_wrong_rcpts) - 1, -1 },
		{ "END garbage", end_at, end_garbage,
			sizeof(end_garbage) - 1, -1 },
		{ "byte after END", end_at, after_end, sizeof(after_end) - 1, -1 },
		{ "envelope after data", end_at, helo_after_data,
			sizeof(helo_after_data) - 1, -1 },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		const struct bad_case *c = &cases[i];
		struct buf in;
		buf_init(&in);
		buf_append(&in, data, c->cut_at);
		buf_append(&in, c->tail, c->tail_len);
		for (size_t step = 0; step <= 1; step++) {
			struct buf out;
			buf_init(&out);
			struct spool_envelope env = { 0 };
			int r = parse(buf_data(&in), buf_len(&in), step, &out,
				&env);
			if (r != c->want)
				fail_msg("%s (step %zu): got %d want %d", c->name,
					step, r, c->want);
			spool_envelope_clear(&env);
			buf_clear(&out);
		}
		buf_clear(&in);
	}
	free(data);
}

static void
test_writer_roundtrip(void **state ATTR_UNUSED)
{
	struct buf f;
	buf_init(&f);
	buf_append(&f, SPOOL_MAGIC, SPOOL_MAGIC_LEN);
	spool_append_record(&f, SPOOL_REC_ID, "x1", 2);
	spool_append_record(&f, SPOOL_REC_TIME, "5", 1);
	spool_append_record(&f, SPOOL_REC_FROM, "", 0);
	spool_append_record(&f, SPOOL_REC_RCPT, "a@b\0/m", 6);
	spool_append_record(&f, SPOOL_REC_DATA, "abc\r\n", 5);
	spool_append_record(&f, SPOOL_REC_END, "5 5 1", 5);
	struct buf out;
	buf_init(&out);
	struct spool_envelope env = { 0 };
	assert_int_equal(parse(buf_data(&f), buf_len(&f), 0, &out, &env), 1);
	assert_string_equal(env.from, "");
	assert_string_equal(env.rcpts[0].maildir, "/m");
	spool_envelope_clear(&env);
	buf_clear(&out);
	buf_clear(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_whole_and_bytewise),
		cmocka_unit_test(test_vector_every_truncation),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_writer_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
