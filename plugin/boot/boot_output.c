#include <string.h>

#include "boot/boot_menu.h"
#include "boot/boot_output.h"
#include "base/error.h"

int vd_boot_format_parse(const char *s, enum vd_boot_format *ret)
{
	if (!strcmp(s, "simple0"))
		*ret = VD_BOOT_SIMPLE0;
	else if (!strcmp(s, "simple"))
		*ret = VD_BOOT_SIMPLE;
	else if (!strcmp(s, "sxp"))
		*ret = VD_BOOT_SXP;
	else
		return -EINVAL;
	return 0;
}

static int check(const char *key, const char *value, enum vd_boot_format fmt)
{
	/* libxl skips items of PATH_MAX * 2 bytes or more, key and blank included */
	if (strlen(key) + 1 + strlen(value) >= VD_BOOT_MAX_VALUE - 1)
		return vd_err(-E2BIG, "the %s value is too long for libxl (%zu bytes)", key,
			      strlen(value));
	if (vd_boot_find_control_char(value) >= 0)
		return vd_err(-EILSEQ, "the %s value contains a control character", key);
	if (fmt == VD_BOOT_SXP && strcmp(key, "args") && strpbrk(value, " ()\"\\"))
		return vd_err(-EILSEQ, "the %s path contains a character sxp cannot carry", key);
	return 0;
}

int vd_boot_output_render(enum vd_boot_format fmt, const char *kernel, const char *ramdisk,
			  const char *args, char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	char sep = fmt == VD_BOOT_SIMPLE0 ? '\0' : '\n';
	int r;

	if (!kernel || !*kernel)
		return -EINVAL;
	r = check("kernel", kernel, fmt);
	if (r == 0 && ramdisk && *ramdisk)
		r = check("ramdisk", ramdisk, fmt);
	if (r == 0 && args && *args)
		r = check("args", args, fmt);
	if (r < 0)
		return r;
	out = open_memstream(&buf, &len);
	if (!out)
		return -ENOMEM;
	if (fmt == VD_BOOT_SXP) {
		fprintf(out, "linux (kernel %s)", kernel);
		if (ramdisk && *ramdisk)
			fprintf(out, "(ramdisk %s)", ramdisk);
		if (args && *args) {
			fputs("(args \"", out);
			for (const char *p = args; *p; p++) {
				if (*p == '"' || *p == '\\')
					fputc('\\', out);
				fputc(*p, out);
			}
			fputs("\")", out);
		}
		fputc('\n', out);
	} else {
		fprintf(out, "kernel %s%c", kernel, sep);
		if (ramdisk && *ramdisk)
			fprintf(out, "ramdisk %s%c", ramdisk, sep);
		if (args && *args)
			fprintf(out, "args %s%c", args, sep);
	}
	if (fclose(out) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* The length of the valid UTF-8 sequence at s (1..4), or 0. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0; /* overlong or a surrogate */
	return n;
}

size_t vd_boot_sanitize(char *s, size_t len, bool keep_newlines)
{
	unsigned char *u = (unsigned char *)s;
	size_t in = 0, out = 0;

	while (in < len) {
		size_t n = utf8_len(u + in, len - in);

		if (n == 0 || (n == 1 && ((u[in] < 0x20 && u[in] != '\t' &&
					   !(keep_newlines && u[in] == '\n')) ||
					  u[in] == 0x7f)) ||
		    (n == 2 && u[in] == 0xc2 && u[in + 1] < 0xa0)) {
			u[out++] = '?';
			in += n ? n : 1;
			continue;
		}
		memmove(u + out, u + in, n);
		out += n;
		in += n;
	}
	if (out < len)
		u[out] = '\0';
	return out;
}
