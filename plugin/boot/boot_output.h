/* vdloader's result in the formats libxl and older toolstacks read: simple0 (libxl: NUL-
 * separated "key value" items), simple (newline-separated) and sxp (domUloader's
 * `linux (kernel …)(ramdisk …)(args "…")`). Refuses any value that could break the framing
 * (XSA-198). Pure: it formats into memory and writes nothing.
 */
#ifndef XENVD_BOOT_OUTPUT_H
#define XENVD_BOOT_OUTPUT_H

#include "base/util.h"

enum vd_boot_format { VD_BOOT_SIMPLE0, VD_BOOT_SIMPLE, VD_BOOT_SXP };

int vd_boot_format_parse(const char *s, enum vd_boot_format *ret);

/* ramdisk and args may be NULL or empty (the item is left out). */
int vd_boot_output_render(enum vd_boot_format fmt, const char *kernel, const char *ramdisk,
			  const char *args, char **ret, size_t *ret_len);

/* Makes guest text safe for a terminal or a log, in place: C0 controls (but '\n' when
 * keep_newlines, and '\t'), DEL, C1 controls (U+0080..U+009F) and bytes that are not valid
 * UTF-8 (a raw 0x9b is CSI to an 8-bit terminal) each become '?'. Returns the new length; the
 * text stays NUL-terminated when it was. */
size_t vd_boot_sanitize(char *s, size_t len, bool keep_newlines);

#endif
