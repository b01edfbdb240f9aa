/* imap_date.c: IMAP date and date-time text (RFC 3501 9) and a lenient
 * RFC 5322 3.3 Date: header reader for SEARCH SENTBEFORE/SENTON/SENTSINCE. */
#include "postier.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/imap_date.h"

static const char imap_months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static int
imap_month(const char *s)
{
	for (int i = 0; i < 12; i++) {
		if (strncasecmp(s, imap_months[i], 3) == 0)
			return i;
	}
	return -1;
}

/* Reads 1..max digits; returns the count read (0 on none). */
static int
imap_digits(const char **s, int max, int *n_r)
{
	int n = 0, count = 0;
	while (count < max && isdigit((unsigned char)**s)) {
		n = n * 10 + (**s - '0');
		(*s)++;
		count++;
	}
	*n_r = n;
	return count;
}

static bool
imap_date_valid(int day, int mon, int year)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
		31, 30, 31 };
	return year >= 1900 && year <= 9999 && mon >= 0 && mon < 12 &&
		day >= 1 && day <= mdays[mon];
}

/* "d-Mon-yyyy" at *s; advances. */
static int
imap_date_text(const char **s, struct tm *tm)
{
	int day, year;
	if (imap_digits(s, 2, &day) == 0 || **s != '-')
		return -1;
	(*s)++;
	int mon = imap_month(*s);
	if (mon < 0 || (*s)[3] != '-')
		return -1;
	*s += 4;
	if (imap_digits(s, 4, &year) != 4)
		return -1;
	if (!imap_date_valid(day, mon, year))
		return -1;
	memset(tm, 0, sizeof(*tm));
	tm->tm_mday = day;
	tm->tm_mon = mon;
	tm->tm_year = year - 1900;
	return 0;
}

int
imap_date_parse(const char *s, time_t *t_r)
{
	struct tm tm;
	if (imap_date_text(&s, &tm) < 0 || *s != '\0')
		return -1;
	*t_r = timegm(&tm);
	return 0;
}

int
imap_datetime_parse(const char *s, time_t *t_r)
{
	struct tm tm;
	if (*s == ' ')
		s++;
	if (imap_date_text(&s, &tm) < 0 || *s++ != ' ')
		return -1;
	int h, m, sec, zone;
	if (imap_digits(&s, 2, &h) != 2 || *s++ != ':' ||
	    imap_digits(&s, 2, &m) != 2 || *s++ != ':' ||
	    imap_digits(&s, 2, &sec) != 2 || *s++ != ' ')
		return -1;
	if (h > 23 || m > 59 || sec > 60)
		return -1;
	char sign = *s++;
	if ((sign != '+' && sign != '-') || imap_digits(&s, 4, &zone) != 4 ||
	    *s != '\0')
		return -1;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	long off = (zone / 100) * 3600L + (zone % 100) * 60L;
	*t_r = timegm(&tm) - (sign == '+' ? off : -off);
	return 0;
}

void
imap_datetime_append(struct buf *out, time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	long off = tm.tm_gmtoff / 60;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	buf_printf(out, "\"%02d-%s-%04d %02d:%02d:%02d %c%02ld%02ld\"",
		tm.tm_mday, imap_months[tm.tm_mon], tm.tm_year + 1900,
		tm.tm_hour, tm.tm_min, tm.tm_sec, sign, off / 60, off % 60);
}

/* RFC 5322 3.3: [day-of-week ","] day month year hour ":" minute
 * [":" second] zone; obsolete forms (two-digit years, named zones) read
 * leniently. */
int
imap_rfc822_date_parse(const char *s, time_t *t_r)
{
	while (isspace((unsigned char)*s))
		s++;
	const char *comma = strchr(s, ',');
	if (comma != NULL)
		s = comma + 1;
	while (isspace((unsigned char)*s))
		s++;
	int day, year, h = 0, m = 0, sec = 0;
	if (imap_digits(&s, 2, &day) == 0)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	int mon = imap_month(s);
	if (mon < 0)
		return -1;
	s += 3;
	while (isspace((unsigned char)*s))
		s++;
	int ny = imap_digits(&s, 4, &year);
	if (ny == 0)
		return -1;
	if (ny <= 2)
		year += year < 50 ? 2000 : 1900;
	if (!imap_date_valid(day, mon, year))
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	if (imap_digits(&s, 2, &h) > 0 && *s == ':') {
		s++;
		imap_digits(&s, 2, &m);
		if (*s == ':') {
			s++;
			imap_digits(&s, 2, &sec);
		}
	}
	while (isspace((unsigned char)*s))
		s++;
	long off = 0;
	if (*s == '+' || *s == '-') {
		int zone;
		char sign = *s++;
		if (imap_digits(&s, 4, &zone) == 4) {
			off = (zone / 100) * 3600L + (zone % 100) * 60L;
			if (sign == '-')
				off = -off;
		}
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	tm.tm_mday = day;
	tm.tm_mon = mon;
	tm.tm_year = year - 1900;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	*t_r = timegm(&tm) - off;
	return 0;
}
