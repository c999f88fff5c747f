/* The last error of the calling thread, as a sentence a user can act on. Library functions
 * return 0 or -errno; where the user needs to know which object failed and what to do next,
 * they also set this message. Programs print it; the library never writes to stderr itself.
 */
#ifndef XENVD_ERROR_H
#define XENVD_ERROR_H

#include "base/util.h"

/* Sets the message (printf-style, "%m" allowed for -r) and returns r, so that
 * `return vd_err(-ENOENT, "VD %u does not exist", id);` sets and returns in one line. */
int vd_err(int r, const char *fmt, ...) _printf_(2, 3);

/* Prepends context to the current message: "while creating VD 7: <old message>". */
int vd_err_prefix(int r, const char *fmt, ...) _printf_(2, 3);

/* The message, or strerror(-r) of the last vd_err when none was set. Never NULL. */
const char *vd_errmsg(void);
void vd_err_clear(void);

/* Logging: debug is off unless vd_log_set_level() raised it (the programs' -v). Messages go to
 * the sink the program installed with vd_log_set_sink() (block-vd: the hotplug log or syslog;
 * xl-vd and vdloader: stderr with their name); without a sink they are dropped. */
enum vd_log_level { VD_LOG_ERR = 0, VD_LOG_WARN, VD_LOG_INFO, VD_LOG_DEBUG };
void vd_log_set_level(enum vd_log_level level);
enum vd_log_level vd_log_get_level(void);
void vd_log_set_sink(void (*sink)(enum vd_log_level level, const char *msg, void *userdata),
		     void *userdata);
void vd_log(enum vd_log_level level, const char *fmt, ...) _printf_(2, 3);
/* As vd_log, with "%m" standing for -r (the convention everywhere: errors are formatted with
 * "%m" from the code being returned or logged, not with strerror()). */
void vd_log_errno(enum vd_log_level level, int r, const char *fmt, ...) _printf_(3, 4);
#define vd_debug(...) vd_log(VD_LOG_DEBUG, __VA_ARGS__)
#define vd_info(...) vd_log(VD_LOG_INFO, __VA_ARGS__)
#define vd_warn(...) vd_log(VD_LOG_WARN, __VA_ARGS__)
#define vd_warn_errno(r, ...) vd_log_errno(VD_LOG_WARN, (r), __VA_ARGS__)

#endif
