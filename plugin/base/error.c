#include <stdarg.h>
#include <string.h>

#include "base/error.h"

static __thread char err_buf[1024];
static __thread int err_code;

static enum vd_log_level log_level = VD_LOG_WARN;
static void (*log_sink)(enum vd_log_level, const char *, void *);
static void *log_userdata;

int vd_err(int r, const char *fmt, ...)
{
	va_list ap;

	errno = r < 0 ? -r : r; /* for %m */
	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	err_code = r;
	vd_debug("error: %s", err_buf);
	return r;
}

int vd_err_prefix(int r, const char *fmt, ...)
{
	char prefix[512], old[sizeof(err_buf)];
	va_list ap;

	snprintf(old, sizeof(old), "%s", vd_errmsg());
	errno = r < 0 ? -r : r;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	snprintf(err_buf, sizeof(err_buf), "%s: %s", prefix, old);
	err_code = r;
	return r;
}

const char *vd_errmsg(void)
{
	if (err_buf[0])
		return err_buf;
	return strerror(err_code < 0 ? -err_code : (err_code ? err_code : EIO));
}

void vd_err_clear(void)
{
	err_buf[0] = '\0';
	err_code = 0;
}

void vd_log_set_level(enum vd_log_level level)
{
	log_level = level;
}

enum vd_log_level vd_log_get_level(void)
{
	return log_level;
}

void vd_log_set_sink(void (*sink)(enum vd_log_level, const char *, void *), void *userdata)
{
	log_sink = sink;
	log_userdata = userdata;
}

static void log_va(enum vd_log_level level, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_sink(level, msg, log_userdata);
}

void vd_log(enum vd_log_level level, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	/* The library does not print: without a sink the message goes nowhere. */
	if (level > log_level || !log_sink)
		return;
	va_start(ap, fmt);
	log_va(level, fmt, ap);
	va_end(ap);
	errno = saved;
}

void vd_log_errno(enum vd_log_level level, int r, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (level > log_level || !log_sink)
		return;
	errno = r < 0 ? -r : r; /* for %m */
	va_start(ap, fmt);
	log_va(level, fmt, ap);
	va_end(ap);
	errno = saved;
}
