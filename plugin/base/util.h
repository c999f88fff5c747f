/* Small helpers every libxenvd module uses: ownership (cleanup attributes, TAKE_PTR/TAKE_FD),
 * size and id parsing, time formatting. Nothing here touches an external library or logs.
 */
#ifndef XENVD_UTIL_H
#define XENVD_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand ownership on: returns the value and leaves the variable empty. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p = (p);                                                            \
		(p) = NULL;                                                                        \
		_p;                                                                                \
	})
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd = (fd);                                                                    \
		(fd) = -EBADF;                                                                     \
		_fd;                                                                               \
	})

/* What vd_parse_size accepts, as xl-vd(1) documents it, for error messages. */
#define VD_SIZE_SYNTAX                                                                             \
	"a positive number of bytes with an optional K, M, G, T or P suffix (powers of 1024; "    \
	"KiB, MiB, GiB, TiB, PiB also work; e.g. 512M, 1.5G, 20GiB)"

/* "20G", "512M", "4096", "1.5T", "20GiB": VD_SIZE_SYNTAX. "4MB" and "4Mb" are refused (SI
 * megabytes and megabits are not mebibytes). Rejects empty strings, negative values, junk,
 * overflow and zero. */
int vd_parse_size(const char *s, uint64_t *ret_bytes);

/* Decimal 0..UINT32_MAX (a domid, a devid): no sign, no leading zero, no junk. */
int vd_parse_u32(const char *s, uint32_t *ret);
/* A VD id: as vd_parse_u32, but 0 is not an id. */
int vd_parse_id(const char *s, uint32_t *ret_id);
/* A vd: target, the one rule everywhere one is read (a backend's params, a disk spec, a stored
 * domain configuration): "vd:<id>", whitespace around it ignored (libxl keeps whatever followed
 * target=), nothing else. */
int vd_parse_target(const char *s, uint32_t *ret_id);

/* Seconds: decimal, 0..10 years; suffixes s, m, h, d accepted. */
int vd_parse_seconds(const char *s, int64_t *ret_seconds);

struct stat;
/* A database, its directory or the lock directory: owned by root (or the caller) and not
 * writable by group or others, else -EPERM with a message naming it (what: "database
 * directory") and the fix. */
int vd_check_private(const char *path, const struct stat *st, const char *what);

/* "20.0G" style, into buf (at least 16 bytes). */
const char *vd_format_size(uint64_t bytes, char *buf, size_t len);

/* "2h13m", "45s", "3d04h" style, into buf. */
const char *vd_format_duration(int64_t seconds, char *buf, size_t len);

/* Wall-clock seconds; overridable in tests through XENVD_NOW (a fixed epoch second). */
int64_t vd_now(void);

/* Where a run's time went: marks appended as "name 1.2" (milliseconds since the previous mark,
 * CLOCK_MONOTONIC) for one log line; the text is truncated, never overflowed. */
struct vd_phases {
	int64_t start_ns, last_ns;
	bool detail;	 /* also "/<page faults>f/<cpu ms>c" per mark (getrusage: a syscall) */
	long last_faults;
	int64_t last_cpu_us;
	size_t len;
	char text[512];
};
void vd_phases_start(struct vd_phases *p);
void vd_phases_mark(struct vd_phases *p, const char *name);
/* Milliseconds since vd_phases_start. */
double vd_phases_total_ms(const struct vd_phases *p);

/* Random bytes from getrandom(2). */
int vd_random(void *buf, size_t len);

/* Strips leading and trailing white space (isspace) in place; returns s. */
char *vd_strip(char *s);
/* The value of a lowercase hex digit, or -1. */
int vd_hexval(char c);

/* Canonical 36-character UUID text of 16 bytes, and back. */
void vd_uuid_unparse(const uint8_t uuid[16], char out[37]);
int vd_uuid_parse(const char *s, uint8_t ret_uuid[16]);

/* Full-length pread/pwrite, retrying on EINTR and short transfers; 0 or -errno. */
int vd_pread_all(int fd, void *buf, size_t len, uint64_t off);
int vd_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

/* Big-endian fields of on-disk structures (labels, the metadata area). */
static inline void vd_put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline void vd_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline uint32_t vd_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t vd_get_be64(const uint8_t *p)
{
	return (uint64_t)vd_get_be32(p) << 32 | vd_get_be32(p + 4);
}

#endif
