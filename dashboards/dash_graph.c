/* dash_graph.c: a graph table entry -> rrd_graph_v() arguments. Legends show
 * last, average and maximum of each drawn series. */
#include "postier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rrd.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "dash_graph.h"
#include "dash_png.h"

struct argv_list {
	char **v;
	int n;
};

static void
add(struct argv_list *a, char *s)
{
	a->v = xrealloc(a->v, sizeof(char *) * (size_t)(a->n + 2));
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

/* rrd_graph splits DEF and legends at ':' : escape it in paths and text */
static char *
escape_colons(const char *s)
{
	struct buf b;

	buf_init(&b);
	for (; *s != '\0'; s++) {
		if (*s == ':')
			buf_append_char(&b, '\\');
		buf_append_char(&b, *s);
	}
	return buf_steal(&b);
}

int
dash_graph_draw(const struct dash_graph *g, const char *rrd_path,
	const char *title, long start, long end,
	const struct dash_graph_opts *o, const char *png_path, char **error_r)
{
	struct argv_list a = { NULL, 0 };
	char *path = escape_colons(rrd_path);

	add(&a, xstrdup("graph"));
	add(&a, xstrdup(png_path));
	add(&a, xstrdup("--imgformat"));
	add(&a, xstrdup("PNG"));
	add(&a, xstrdup("--start"));
	add(&a, xasprintf("%ld", start));
	add(&a, xstrdup("--end"));
	add(&a, xasprintf("%ld", end));
	add(&a, xstrdup("--width"));
	add(&a, xasprintf("%ld", o->width));
	add(&a, xstrdup("--height"));
	add(&a, xasprintf("%ld", o->height));
	add(&a, xstrdup("--title"));
	add(&a, xstrdup(title));
	add(&a, xstrdup("--vertical-label"));
	add(&a, xstrdup(g->vlabel));
	add(&a, xstrdup("--font"));
	add(&a, xstrdup("DEFAULT:8:DejaVu Sans"));
	/* monospaced legend: the last/avg/max columns line up */
	add(&a, xstrdup("--font"));
	add(&a, xstrdup("LEGEND:8:DejaVu Sans Mono"));
	add(&a, xstrdup("--slope-mode"));
	/* Grid lines solid at half the alpha of rrdtool's dotted default
	 * (GRID 0.56 grey, MGRID 0.87/0.31/0.31 red, alpha 0.75 and 0.60, dash
	 * 1 on 1 off): the same mean colour, so the same faint grey and red
	 * grid to the eye; but cairo strokes every dot of a dotted line as its
	 * own box, about 30 % of a graph's instructions
	 * (docs/benchmarks-dashboards.md). */
	add(&a, xstrdup("--grid-dash"));
	add(&a, xstrdup("1:0"));
	add(&a, xstrdup("--color"));
	add(&a, xstrdup("GRID#8F8F8F60"));
	add(&a, xstrdup("--color"));
	add(&a, xstrdup("MGRID#DE4F4F4D"));
	for (size_t i = 0; i < N_ELEMENTS(g->extra) && g->extra[i] != NULL; i++)
		add(&a, xstrdup(g->extra[i]));
	for (size_t i = 0; i < DASH_MAX_SERIES && g->series[i].vname != NULL; i++) {
		const struct dash_series *s = &g->series[i];
		if (s->ds != NULL)
			add(&a, xasprintf("DEF:%s=%s:%s:AVERAGE", s->vname, path, s->ds));
		else
			add(&a, xasprintf("CDEF:%s=%s", s->vname, s->rpn));
	}
	for (size_t i = 0; i < DASH_MAX_SERIES && g->series[i].vname != NULL; i++) {
		const struct dash_series *s = &g->series[i];
		if (s->draw[0] == '\0')
			continue;
		char *legend = escape_colons(s->legend != NULL ? s->legend : "");
		if (s->fmt == NULL) {
			add(&a, xasprintf("%s:%s%s:%s\\l", s->draw, s->vname, s->color,
				legend));
			free(legend);
			continue;
		}
		add(&a, xasprintf("%s:%s%s:%s", s->draw, s->vname, s->color, legend));
		free(legend);
		add(&a, xasprintf("VDEF:%s_last=%s,LAST", s->vname, s->vname));
		add(&a, xasprintf("VDEF:%s_avg=%s,AVERAGE", s->vname, s->vname));
		add(&a, xasprintf("VDEF:%s_max=%s,MAXIMUM", s->vname, s->vname));
		add(&a, xasprintf("GPRINT:%s_last:last %s", s->vname, s->fmt));
		add(&a, xasprintf("GPRINT:%s_avg:avg %s", s->vname, s->fmt));
		add(&a, xasprintf("GPRINT:%s_max:max %s\\l", s->vname, s->fmt));
	}
	free(path);

	rrd_clear_error();
	unsigned long written = dash_png_files_written();
	unsigned long failed = dash_png_files_failed();
	rrd_info_t *info = rrd_graph_v(a.n, a.v);
	int ret = 0;
	if (info == NULL) {
		*error_r = xstrdup(rrd_test_error() ? rrd_get_error() : "rrd_graph failed");
		rrd_clear_error();
		ret = -1;
	} else {
		rrd_info_free(info);
		static bool warned;
		if (dash_png_files_failed() != failed) {
			/* librrd does not tell: dash_png.h */
			*error_r = xasprintf("cannot write %s: %s", png_path,
				dash_png_last_error());
			ret = -1;
		} else if (dash_png_files_written() == written && !warned) {
			/* drawn, but not through dash_png.c: correct, 3x dearer */
			fprintf(stderr, "postier-dash: warning: librrd wrote %s with "
				"cairo's PNG encoder, not postier-dash's (dash_png.h)\n",
				png_path);
			warned = true;
		}
	}
	for (int i = 0; i < a.n; i++)
		free(a.v[i]);
	free(a.v);
	return ret;
}
