/* Boot Loader Specification type #1 entries (/loader/entries/NAME.conf), as Fedora and RHEL use
 * them through grub's blscfg. */
#include <ctype.h>
#include <string.h>

#include "boot/boot_menu.h"

/* Expands $name and ${name} from env (Fedora's `options $kernelopts`). */
static int expand_vars(const char *s, const struct vd_boot_vars *env, char **ret)
{
	char *buf = strdup("");
	size_t len = 0;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	while (*s && r == 0) {
		if (*s == '$' && (s[1] == '{' || isalnum((unsigned char)s[1]) || s[1] == '_')) {
			char name[128];
			size_t n = 0;
			const char *v;
			bool brace = s[1] == '{';

			s += brace ? 2 : 1;
			while (*s && (isalnum((unsigned char)*s) || *s == '_') && n < sizeof(name) - 1)
				name[n++] = *s++;
			name[n] = '\0';
			if (brace) {
				if (*s != '}') {
					r = -EBADMSG;
					break;
				}
				s++;
			}
			v = vd_boot_vars_get(env, name);
			if (v)
				r = vd_boot_strbuf_append(&buf, &len, v, strlen(v));
		} else {
			r = vd_boot_strbuf_append(&buf, &len, s, 1);
			s++;
		}
	}
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	return 0;
}

int vd_boot_bls_parse(const char *text, size_t len, const char *stem, const struct vd_boot_vars *env,
		      struct vd_boot_entry *ret)
{
	struct vd_boot_entry e = {};
	char *options = NULL;
	size_t options_len = 0;
	const char *p = text, *end = text + len;
	int r = 0;

	if (memchr(text, '\0', len))
		return -EILSEQ;
	while (r == 0) {
		const char *v, *vend;
		char key[32];
		char *value;
		size_t vlen;
		int got = vd_boot_next_keyval(&p, end, false, key, sizeof(key), &v,
					      &vlen);

		if (got <= 0) {
			r = got;
			break;
		}
		vend = v + vlen;
		value = strndup(v, (size_t)(vend - v));
		if (!value) {
			r = -ENOMEM;
			break;
		}
		if (!strcmp(key, "title")) {
			free(e.title);
			e.title = value;
		} else if (!strcmp(key, "version")) {
			free(e.version);
			e.version = value;
		} else if (!strcmp(key, "sort-key")) {
			free(e.sort_key);
			e.sort_key = value;
		} else if (!strcmp(key, "linux")) {
			free(e.kernel);
			e.kernel = value;
		} else if (!strcmp(key, "initrd")) {
			if (e.n_initrds >= VD_BOOT_MAX_INITRDS) {
				free(value);
				r = -E2BIG;
			} else {
				e.initrds[e.n_initrds++] = value;
			}
		} else if (!strcmp(key, "options")) {
			if (options_len > 0)
				r = vd_boot_strbuf_append(&options, &options_len, " ", 1);
			if (r == 0)
				r = vd_boot_strbuf_append(&options, &options_len, value, strlen(value));
			free(value);
		} else {
			free(value); /* machine-id, devicetree, efi, architecture, grub_* */
		}
	}
	if (r == 0 && options)
		r = expand_vars(options, env, &e.args);
	free(options);
	if (r == 0 && !(e.id = strdup(stem)))
		r = -ENOMEM;
	if (r < 0) {
		vd_boot_entry_dispose(&e);
		return r;
	}
	*ret = e;
	return 0;
}

static int compare_newest_first(const void *a, const void *b)
{
	const struct vd_boot_entry *x = a, *y = b;
	int c;

	/* entries with a sort-key come first, ascending by key (BLS); then newest version */
	if (!!x->sort_key != !!y->sort_key)
		return x->sort_key ? -1 : 1;
	if (x->sort_key && (c = strcmp(x->sort_key, y->sort_key)))
		return c;
	if (!!x->version != !!y->version)
		return x->version ? -1 : 1;
	if (x->version && (c = strverscmp(y->version, x->version)))
		return c;
	return strverscmp(y->id ? y->id : "", x->id ? x->id : "");
}

int vd_boot_bls_build_menu(struct vd_boot_entry *entries, size_t n, const struct vd_boot_vars *env,
			   struct vd_boot_menu *ret)
{
	struct vd_boot_menu menu = {};
	const char *dflt;
	int r;

	qsort(entries, n, sizeof(*entries), compare_newest_first);
	for (size_t i = 0; i < n; i++) {
		r = vd_boot_menu_add(&menu, &entries[i]);
		if (r < 0) {
			vd_boot_menu_dispose(&menu);
			return r;
		}
	}
	dflt = vd_boot_vars_get(env, "saved_entry");
	if (!dflt || !*dflt)
		dflt = vd_boot_vars_get(env, "default");
	if (dflt && *dflt && !(menu.default_spec = strdup(dflt))) {
		vd_boot_menu_dispose(&menu);
		return -ENOMEM;
	}
	*ret = menu;
	return 0;
}
