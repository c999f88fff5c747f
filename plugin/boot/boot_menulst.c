/* Legacy GRUB menu.lst / grub.conf: title blocks with kernel/initrd, `default N`. Paths may
 * start with a grub device such as (hd0,0), which names the filesystem we already read. */
#include <ctype.h>
#include <string.h>

#include "boot/boot_menu.h"

static char *strip_device(const char *path)
{
	if (path[0] == '(') {
		const char *close = strchr(path, ')');

		if (close)
			path = close + 1;
	}
	return strdup(*path ? path : "/");
}

int vd_boot_menulst_parse(const char *text, size_t len, struct vd_boot_menu *ret)
{
	struct vd_boot_menu menu = {};
	struct vd_boot_entry cur = {};
	bool in_title = false;
	const char *p = text, *end = text + len;
	char *value, key[16];
	int r = 0;

	if (memchr(text, '\0', len))
		return -EILSEQ;
	while ((r = vd_boot_next_keyval(&p, end, true, key, sizeof(key), &value)) > 0) {
		const char *v = value, *vend = value + strlen(value);

		if (!strcmp(key, "title")) {
			if (in_title)
				r = vd_boot_menu_add(&menu, &cur);
			in_title = true;
			if (r == 0 && !(cur.title = strndup(v, (size_t)(vend - v))))
				r = -ENOMEM;
		} else if (!strcmp(key, "default") && !in_title) {
			free(menu.default_spec);
			/* "default saved" needs /boot/grub/default, which grub rewrites: use 0 */
			menu.default_spec = (vend - v == 5 && !strncmp(v, "saved", 5))
						    ? strdup("0")
						    : strndup(v, (size_t)(vend - v));
			if (!menu.default_spec)
				r = -ENOMEM;
		} else if (in_title && !strcmp(key, "kernel")) {
			const char *path = v, *path_end;
			char *raw;

			while (vend - path >= 2 && path[0] == '-' && path[1] == '-') { /* --type= */
				while (path < vend && !isspace((unsigned char)*path))
					path++;
				while (path < vend && isspace((unsigned char)*path))
					path++;
			}
			path_end = path;
			while (path_end < vend && !isspace((unsigned char)*path_end))
				path_end++;
			raw = strndup(path, (size_t)(path_end - path));
			free(cur.kernel);
			cur.kernel = raw ? strip_device(raw) : NULL;
			free(raw);
			while (path_end < vend && isspace((unsigned char)*path_end))
				path_end++;
			free(cur.args);
			cur.args = strndup(path_end, (size_t)(vend - path_end));
			if (!cur.kernel || !cur.args)
				r = -ENOMEM;
		} else if (in_title && !strcmp(key, "initrd")) {
			const char *path_end = v;
			char *raw;

			while (path_end < vend && !isspace((unsigned char)*path_end))
				path_end++;
			for (size_t i = 0; i < cur.n_initrds; i++)
				free(cur.initrds[i]);
			cur.n_initrds = 0;
			raw = strndup(v, (size_t)(path_end - v));
			if (raw && *raw) {
				cur.initrds[0] = strip_device(raw);
				cur.n_initrds = cur.initrds[0] ? 1 : 0;
			}
			if (!raw || (*raw && !cur.n_initrds))
				r = -ENOMEM;
			free(raw);
		}
		free(value);
		if (r < 0)
			break;
	}
	if (r == 0 && in_title)
		r = vd_boot_menu_add(&menu, &cur);
	vd_boot_entry_dispose(&cur);
	if (r < 0) {
		vd_boot_menu_dispose(&menu);
		return r;
	}
	*ret = menu;
	return 0;
}
