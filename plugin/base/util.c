#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "base/error.h"
#include "base/util.h"

int vd_parse_size(const char *s, uint64_t *ret_bytes)
{
	static const char units[] = "KMGTP";
	unsigned long long whole = 0, frac = 0, frac_div = 1;
	const char *p = s;
	int shift = 0;

	if (!s || !isdigit((unsigned char)*p))
		return -EINVAL;
	while (isdigit((unsigned char)*p)) {
		if (whole > (ULLONG_MAX - 9) / 10)
			return -ERANGE;
		whole = whole * 10 + (unsigned)(*p++ - '0');
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p)) {
			if (frac_div < 1000000000ULL) {
				frac = frac * 10 + (unsigned)(*p - '0');
				frac_div *= 10;
			}
			p++;
		}
	}
	if (*p) {
		const char *u = strchr(units, toupper((unsigned char)*p));

		if (!u)
			return -EINVAL;
		shift = 10 * (int)(u - units + 1);
		p++;
		/* "MiB" is the same as "M"; "MB" (SI) and "Mb" (bits) are refused, not guessed. */
		if (*p == 'i' && p[1] == 'B')
			p += 2;
		if (*p)
			return -EINVAL;
	} else if (frac_div > 1) {
		return -EINVAL; /* fractional bytes */
	}
	if (shift && whole > (UINT64_MAX >> shift))
		return -ERANGE;
	uint64_t bytes = (uint64_t)whole << shift;
	if (shift)
		bytes += (uint64_t)(((unsigned __int128)frac << shift) / frac_div);
	if (bytes == 0)
		return -EINVAL;
	*ret_bytes = bytes;
	return 0;
}

int vd_parse_u32(const char *s, uint32_t *ret)
{
	unsigned long long v = 0;

	if (!s || !isdigit((unsigned char)*s) || (*s == '0' && s[1]))
		return -EINVAL;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	*ret = (uint32_t)v;
	return 0;
}

int vd_parse_id(const char *s, uint32_t *ret_id)
{
	uint32_t v;
	int r = vd_parse_u32(s, &v);

	if (r < 0)
		return r;
	if (v == 0)
		return -EINVAL;
	*ret_id = v;
	return 0;
}

int vd_parse_target(const char *s, uint32_t *ret_id)
{
	char id[16];
	size_t len;

	if (!s)
		return -EINVAL;
	s += strspn(s, " \t\n");
	if (strncmp(s, "vd:", 3) != 0)
		return -EINVAL;
	s += 3;
	len = strcspn(s, " \t\n");
	if (len == 0 || len >= sizeof(id) || s[len + strspn(s + len, " \t\n")] != '\0')
		return -EINVAL;
	memcpy(id, s, len);
	id[len] = '\0';
	return vd_parse_id(id, ret_id) < 0 ? -EINVAL : 0;
}

int vd_parse_seconds(const char *s, int64_t *ret_seconds)
{
	const int64_t max = 10LL * 366 * 86400;
	int64_t v = 0, mult = 1;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		v = v * 10 + (*s - '0');
		if (v > max)
			return -ERANGE;
	}
	switch (*s) {
	case '\0':
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		return -EINVAL;
	}
	if (*s && s[1])
		return -EINVAL;
	if (v > max / mult)
		return -ERANGE;
	*ret_seconds = v * mult;
	return 0;
}

const char *vd_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 "B", bytes);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
	return buf;
}

const char *vd_format_duration(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400, (s % 86400) / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, (s % 3600) / 60);
	else if (s >= 60)
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else
		snprintf(buf, len, "%" PRId64 "s", s);
	return buf;
}

int64_t vd_now(void)
{
	const char *fixed = getenv("XENVD_NOW");

	if (fixed && *fixed)
		return strtoll(fixed, NULL, 10);
	return (int64_t)time(NULL);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(long *faults, int64_t *cpu_us)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0) {
		*faults = 0;
		*cpu_us = 0;
		return;
	}
	*faults = ru.ru_minflt + ru.ru_majflt;
	*cpu_us = (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
		  ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

void vd_phases_start(struct vd_phases *p)
{
	bool detail = p->detail;

	memset(p, 0, sizeof(*p));
	p->detail = detail;
	/* last_faults/last_cpu_us stay 0: the first mark also shows what the process start cost */
	p->start_ns = p->last_ns = mono_ns();
}

void vd_phases_mark(struct vd_phases *p, const char *name)
{
	int64_t now = mono_ns(), cpu_us = 0;
	long faults = 0;
	char more[48] = "";
	int n;

	if (p->detail) {
		usage(&faults, &cpu_us);
		snprintf(more, sizeof(more), "/%ldf/%.1fc", faults - p->last_faults,
			 (double)(cpu_us - p->last_cpu_us) / 1000);
		p->last_faults = faults;
		p->last_cpu_us = cpu_us;
	}
	if (p->len < sizeof(p->text)) {
		n = snprintf(p->text + p->len, sizeof(p->text) - p->len, "%s%s %.1f%s",
			     p->len ? ", " : "", name, (double)(now - p->last_ns) / 1e6, more);
		if (n > 0)
			p->len = p->len + (size_t)n < sizeof(p->text) ? p->len + (size_t)n
								     : sizeof(p->text);
	}
	p->last_ns = now;
}

double vd_phases_total_ms(const struct vd_phases *p)
{
	return (double)(mono_ns() - p->start_ns) / 1e6;
}

int vd_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void vd_uuid_unparse(const uint8_t u[16], char out[37])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
		 u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
		 u[14], u[15]);
}

char *vd_strip(char *s)
{
	size_t start = 0, end = strlen(s);

	while (s[start] && isspace((unsigned char)s[start]))
		start++;
	while (end > start && isspace((unsigned char)s[end - 1]))
		end--;
	memmove(s, s + start, end - start);
	s[end - start] = '\0';
	return s;
}

int vd_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int vd_uuid_parse(const char *s, uint8_t ret_uuid[16])
{
	uint8_t u[16];
	int i = 0;

	if (!s || strlen(s) != 36)
		return -EINVAL;
	for (const char *p = s; *p;) {
		if ((p - s == 8 || p - s == 13 || p - s == 18 || p - s == 23)) {
			if (*p != '-')
				return -EINVAL;
			p++;
			continue;
		}
		int hi = vd_hexval((char)tolower((unsigned char)p[0]));
		int lo = vd_hexval((char)tolower((unsigned char)p[1]));

		if (hi < 0 || lo < 0 || i >= 16)
			return -EINVAL;
		u[i++] = (uint8_t)(hi << 4 | lo);
		p += 2;
	}
	if (i != 16)
		return -EINVAL;
	memcpy(ret_uuid, u, 16);
	return 0;
}

int vd_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int vd_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int vd_check_private(const char *path, const struct stat *st, const char *what)
{
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return vd_err(-EPERM, "%s %s is owned by uid %u, not root: whoever owns it can "
				      "replace what xenvd trusts there; 'chown root %s' if it is "
				      "yours", what, path, (unsigned)st->st_uid, path);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return vd_err(-EPERM, "%s %s is writable by %s (mode %04o): others could replace "
				      "what xenvd trusts there; 'chmod go-w %s'", what, path,
			      st->st_mode & S_IWOTH ? "everyone" : "its group",
			      (unsigned)(st->st_mode & 07777), path);
	return 0;
}
