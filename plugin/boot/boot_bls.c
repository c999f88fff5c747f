/* Boot Loader Specification type #1 entries (/loader/entries/NAME.conf), as Fedora and RHEL use
 * them through grub's blscfg. */
#include <ctype.h>
#include <string.h>

#include "boot/boot_menu.h"

/* Expands $name and ${name} from env (Fedora's `options $kernelopts`); undefined: empty. */
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

/* The words of an expanded value, split at blanks. */
static int add_words(const char *s, char **list, size_t *n, size_t max)
{
	while (*s) {
		size_t w;

		s += strspn(s, " \t");
		w = strcspn(s, " \t");
		if (w == 0)
			break;
		if (*n >= max)
			return -E2BIG;
		if (!(list[*n] = strndup(s, w)))
			return -ENOMEM;
		(*n)++;
		s += w;
	}
	return 0;
}

/* Joins words with single blanks: "$kernelopts $tuned_params" with tuned_params undefined
 * leaves no stray blanks, as grub's word splitting does not. */
static int squeeze(const char *s, char **ret)
{
	char *out = strdup("");
	size_t len = 0;
	int r = 0;

	if (!out)
		return -ENOMEM;
	while (r == 0 && *s) {
		size_t w;

		s += strspn(s, " \t");
		w = strcspn(s, " \t");
		if (w == 0)
			break;
		if (len > 0)
			r = vd_boot_strbuf_append(&out, &len, " ", 1);
		if (r == 0)
			r = vd_boot_strbuf_append(&out, &len, s, w);
		s += w;
	}
	if (r < 0) {
		free(out);
		return r;
	}
	*ret = out;
	return 0;
}

/* grub's blscfg turns every field into grub script, so $variables expand everywhere (undefined:
 * empty), and `linux`/`initrd` values are split into words: `initrd /a.img $tuned_initrd` is
 * one image, or two when tuned_initrd names one. */
int vd_boot_bls_parse(const char *text, size_t len, const char *stem, const struct vd_boot_vars *env,
		      struct vd_boot_entry *ret)
{
	struct vd_boot_entry e = {};
	char *options = NULL, *linux_words = NULL, *raw, key[32];
	size_t options_len = 0;
	const char *p = text, *end = text + len;
	int r = 0;

	if (memchr(text, '\0', len))
		return -EILSEQ;
	while ((r = vd_boot_next_keyval(&p, end, false, key, sizeof(key), &raw)) > 0) {
		char *value = NULL;

		r = expand_vars(raw, env, &value);
		free(raw);
		if (r < 0)
			break;
		if (!strcmp(key, "title")) {
			free(e.title);
			r = squeeze(value, &e.title);
		} else if (!strcmp(key, "version")) {
			free(e.version);
			r = squeeze(value, &e.version);
		} else if (!strcmp(key, "sort-key")) {
			free(e.sort_key);
			r = squeeze(value, &e.sort_key);
		} else if (!strcmp(key, "linux")) {
			free(linux_words);
			linux_words = value;
			value = NULL;
		} else if (!strcmp(key, "initrd")) {
			r = add_words(value, e.initrds, &e.n_initrds, VD_BOOT_MAX_INITRDS);
		} else if (!strcmp(key, "options")) {
			if (options_len > 0)
				r = vd_boot_strbuf_append(&options, &options_len, " ", 1);
			if (r == 0)
				r = vd_boot_strbuf_append(&options, &options_len, value, strlen(value));
		}
		/* else machine-id, devicetree, efi, architecture, grub_*: not for us */
		free(value);
		if (r < 0)
			break;
	}
	if (r == 0 && linux_words) {
		/* "linux /vmlinuz-x $extra": the first word is the kernel, the rest arguments */
		const char *k = linux_words + strspn(linux_words, " \t");
		size_t kl = strcspn(k, " \t");

		if (kl > 0 && !(e.kernel = strndup(k, kl)))
			r = -ENOMEM;
		if (r == 0 && k[kl]) {
			char *rest;

			if (asprintf(&rest, "%s %s", k + kl, options ? options : "") < 0) {
				r = -ENOMEM;
			} else {
				free(options);
				options = rest;
			}
		}
	}
	if (r == 0 && options)
		r = squeeze(options, &e.args);
	free(options);
	free(linux_words);
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

	if (n)
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
