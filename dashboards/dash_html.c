/* dash_html.c: shared HTML pieces. No script, no external resource: pages
 * open from the file system and work offline. */
#include "postier.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/xmalloc.h"
#include "dash_html.h"

void
dash_html_escape(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': buf_append_str(out, "&amp;"); break;
		case '<': buf_append_str(out, "&lt;"); break;
		case '>': buf_append_str(out, "&gt;"); break;
		case '"': buf_append_str(out, "&quot;"); break;
		case '\'': buf_append_str(out, "&#39;"); break;
		default: buf_append_char(out, *s); break;
		}
	}
}

static const char dash_css[] =
	"body{font-family:'DejaVu Sans',Arial,sans-serif;margin:0;padding:12px;"
	"background:#f4f6f8;color:#1d2733}\n"
	"h1{font-size:1.4em;margin:.2em 0 .6em}h2{font-size:1.15em;margin:1.2em 0 .4em}"
	"h3{font-size:1em;margin:.8em 0 .3em}\n"
	"a{color:#1f4e9f}nav a{margin-right:1em}\n"
	".grid{display:flex;flex-wrap:wrap;gap:12px}\n"
	".card{background:#fff;border:1px solid #cfd6de;border-radius:6px;"
	"padding:10px;max-width:100%;box-sizing:border-box}\n"
	"img{max-width:100%;height:auto;display:block}\n"
	"table{border-collapse:collapse;margin:.4em 0}"
	"td,th{padding:3px 10px;border-bottom:1px solid #e3e7ec;text-align:left}"
	"th{background:#eef1f4}\n"
	"td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
	".ok{color:#1b7a2f;font-weight:bold}.bad{color:#b03a2e;font-weight:bold}"
	".warn{color:#9a6700;font-weight:bold}\n"
	".note{background:#fff8e1;border-left:4px solid #e0a040;padding:6px 10px}\n"
	".err{background:#fdecea;border-left:4px solid #b03a2e;padding:6px 10px}\n"
	"footer{margin-top:2em;font-size:.8em;color:#667}\n"
	"@media (max-width:600px){body{padding:6px}.card{padding:6px}"
	"td,th{padding:2px 5px}}\n";

void
dash_html_begin(struct buf *out, const char *title)
{
	buf_append_str(out, "<!doctype html>\n<html lang=\"en\"><head>"
		"<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
		"content=\"width=device-width, initial-scale=1\">\n<title>");
	dash_html_escape(out, title);
	buf_append_str(out, "</title>\n<style>\n");
	buf_append_str(out, dash_css);
	buf_append_str(out, "</style></head>\n<body>\n");
}

void
dash_html_end(struct buf *out)
{
	char when[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	buf_printf(out, "<footer>postier-dash %s, written %s</footer>\n"
		"</body></html>\n", POSTIER_VERSION, when);
}

int
dash_write_file(const char *path, const char *data, size_t len)
{
	char *tmp = xasprintf("%s.tmp%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int saved;

	if (fd < 0)
		goto fail;
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			goto fail;
		}
		data += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0)
		goto fail;
	free(tmp);
	return 0;
fail:
	saved = errno;
	unlink(tmp);
	free(tmp);
	errno = saved;
	return -1;
}
