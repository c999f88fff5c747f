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
