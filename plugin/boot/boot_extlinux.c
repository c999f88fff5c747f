/* extlinux.conf / syslinux.cfg: LABEL blocks with KERNEL/LINUX, APPEND, INITRD, MENU LABEL,
 * DEFAULT and MENU DEFAULT. Keywords are case-insensitive. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "boot/boot_menu.h"

static int set_initrds(struct vd_boot_entry *e, const char *list)
{
	char *copy = strdup(list), *save = NULL, *tok;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_initrds; i++)
		free(e->initrds[i]);
	e->n_initrds = 0;
	for (tok = strtok_r(copy, ",", &save); tok && r == 0; tok = strtok_r(NULL, ",", &save)) {
		if (e->n_initrds >= VD_BOOT_MAX_INITRDS)
			r = -E2BIG;
		else if (!(e->initrds[e->n_initrds++] = strdup(tok)))
			r = -ENOMEM;
	}
	free(copy);
	return r;
}

/* APPEND may carry initrd=a,b: syslinux loads those and passes the rest to the kernel. */
static int set_append(struct vd_boot_entry *e, const char *value)
{
	char *copy = strdup(value), *save = NULL, *tok;
	char *args = strdup("");
	size_t len = 0;
	int r = 0;

	if (!copy || !args) {
		free(copy);
		free(args);
		return -ENOMEM;
	}
	for (tok = strtok_r(copy, " \t", &save); tok && r == 0; tok = strtok_r(NULL, " \t", &save)) {
		if (!strncmp(tok, "initrd=", 7)) {
			r = set_initrds(e, tok + 7);
			continue;
		}
		if (len > 0)
			r = vd_boot_strbuf_append(&args, &len, " ", 1);
		if (r == 0)
			r = vd_boot_strbuf_append(&args, &len, tok, strlen(tok));
	}
	free(copy);
	if (r < 0) {
		free(args);
		return r;
	}
	free(e->args);
	e->args = args;
	return 0;
}

/* DEFAULT names a label by the whole rest of its line. When no label is that whole line,
 * syslinux runs the line as a command line whose first word is a label: that label boots. */
static int default_label(struct vd_boot_menu *menu)
{
	const char *d = menu->default_spec;
	size_t w = strcspn(d, " \t");
	char *first;

	for (size_t i = 0; i < menu->n; i++)
		if (menu->entries[i].id && !strcmp(menu->entries[i].id, d))
			return 0;
	if (!d[w])
		return 0;
	first = strndup(d, w);
	if (!first)
		return -ENOMEM;
	free(menu->default_spec);
	menu->default_spec = first;
	return 0;
}

int vd_boot_extlinux_parse(const char *text, size_t len, struct vd_boot_menu *ret)
{
	struct vd_boot_menu menu = {};
	struct vd_boot_entry cur = {};
	bool in_label = false;
	char *menu_default = NULL, *value, key[16];
	const char *p = text, *end = text + len;
	int r = 0;

	if (memchr(text, '\0', len))
		return -EILSEQ;
	while ((r = vd_boot_next_keyval(&p, end, false, key, sizeof(key), &value)) > 0) {
		if (!strcasecmp(key, "label")) {
			if (in_label)
				r = vd_boot_menu_add(&menu, &cur);
			in_label = true;
			if (r == 0) {
				cur.id = value;
				value = NULL;
			}
		} else if (!strcasecmp(key, "default")) {
			/* syslinux matches the whole rest of the line against the labels (which
			 * may hold blanks); see default_label() for "DEFAULT label options" */
			free(menu.default_spec);
			menu.default_spec = value;
			value = NULL;
		} else if (!strcasecmp(key, "menu")) {
			if (!strncasecmp(value, "label", 5) && isspace((unsigned char)value[5]) &&
			    in_label) {
				const char *t = value + 6;

				while (isspace((unsigned char)*t))
					t++;
				free(cur.title);
				if (!(cur.title = strdup(t)))
					r = -ENOMEM;
			} else if (!strcasecmp(value, "default") && in_label && cur.id) {
				free(menu_default);
				if (!(menu_default = strdup(cur.id)))
					r = -ENOMEM;
			}
		} else if (in_label && (!strcasecmp(key, "kernel") || !strcasecmp(key, "linux"))) {
			free(cur.kernel);
			cur.kernel = value;
			value = NULL;
		} else if (in_label && !strcasecmp(key, "append")) {
			r = set_append(&cur, value);
		} else if (in_label && !strcasecmp(key, "initrd")) {
			r = set_initrds(&cur, value);
		}
		free(value);
		if (r < 0)
			break;
	}
	if (r == 0 && in_label)
		r = vd_boot_menu_add(&menu, &cur);
	vd_boot_entry_dispose(&cur);
	if (r == 0 && menu.default_spec && !menu_default)
		r = default_label(&menu);
	if (r == 0 && menu_default) {
		free(menu.default_spec);
		menu.default_spec = menu_default;
		menu_default = NULL;
	}
	free(menu_default);
	if (r < 0) {
		vd_boot_menu_dispose(&menu);
		return r;
	}
	*ret = menu;
	return 0;
}
