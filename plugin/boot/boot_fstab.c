/* /etc/fstab lines and device-name → partition number, for finding a separate /boot. */
#include <ctype.h>
#include <string.h>

#include "boot/boot_menu.h"

#define MAX_FSTAB_LINES 256

/* fstab escapes blanks as \040 (octal); a \000 would cut the string, so it is refused. */
static char *unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			char c = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));

			if (c == '\0') {
				free(out);
				return NULL;
			}
			*o++ = c;
			i += 3;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

void vd_boot_fstab_dispose(struct vd_boot_fstab *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->lines[i].spec);
		free(f->lines[i].mountpoint);
		free(f->lines[i].type);
	}
	free(f->lines);
	memset(f, 0, sizeof(*f));
}

int vd_boot_fstab_parse(const char *text, size_t len, struct vd_boot_fstab *ret)
{
	struct vd_boot_fstab f = {};
	const char *p = text, *end = text + len;

	if (memchr(text, '\0', len))
		return -EILSEQ;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		const char *field[3];
		size_t flen[3], nf = 0;
		const char *q = p;
		struct vd_boot_fstab_line *grown;

		p = line_end + 1;
		while (nf < 3) {
			while (q < line_end && isspace((unsigned char)*q))
				q++;
			if (q >= line_end || (*q == '#' && nf == 0))
				break;
			field[nf] = q;
			while (q < line_end && !isspace((unsigned char)*q))
				q++;
			flen[nf] = (size_t)(q - field[nf]);
			nf++;
		}
		if (nf < 3)
			continue;
		if (f.n >= MAX_FSTAB_LINES)
			break;
		grown = realloc(f.lines, (f.n + 1) * sizeof(*grown));
		if (!grown) {
			vd_boot_fstab_dispose(&f);
			return -ENOMEM;
		}
		f.lines = grown;
		f.lines[f.n].spec = unescape(field[0], flen[0]);
		f.lines[f.n].mountpoint = unescape(field[1], flen[1]);
		f.lines[f.n].type = unescape(field[2], flen[2]);
		f.n++;
		if (!f.lines[f.n - 1].spec || !f.lines[f.n - 1].mountpoint || !f.lines[f.n - 1].type) {
			vd_boot_fstab_dispose(&f);
			return -EILSEQ;
		}
	}
	*ret = f;
	return 0;
}

int vd_boot_devname_partno(const char *dev, int *ret_partno)
{
	const char *name = strrchr(dev, '/');
	size_t n, digits = 0;
	long v;

	name = name ? name + 1 : dev;
	n = strlen(name);
	if (n == 0 || !isalpha((unsigned char)name[0]) || strchr(name, '='))
		return -EINVAL;
	while (digits < n && isdigit((unsigned char)name[n - 1 - digits]))
		digits++;
	if (digits == 0) {
		*ret_partno = 0;
		return 0;
	}
	if (digits > 3)
		return -EINVAL;
	/* nvme0n1 / mmcblk0 / loop0: digits after a digit-bearing name are the disk, not a part */
	if (n > digits && name[n - 1 - digits] != 'p') {
		for (size_t i = 0; i < n - digits; i++)
			if (isdigit((unsigned char)name[i])) {
				*ret_partno = 0;
				return 0;
			}
	}
	v = strtol(name + n - digits, NULL, 10);
	*ret_partno = (int)v;
	return 0;
}
