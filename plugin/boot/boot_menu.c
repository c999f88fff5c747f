#include <ctype.h>
#include <malloc.h>
#include <string.h>

#include "boot/boot_menu.h"

void vd_boot_entry_dispose(struct vd_boot_entry *e)
{
	if (!e)
		return;
	free(e->title);
	free(e->id);
	free(e->index_path);
	free(e->kernel);
	for (size_t i = 0; i < e->n_initrds; i++)
		free(e->initrds[i]);
	free(e->args);
	free(e->version);
	free(e->sort_key);
	free(e->device);
	memset(e, 0, sizeof(*e));
}

void vd_boot_menu_dispose(struct vd_boot_menu *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		vd_boot_entry_dispose(&m->entries[i]);
	free(m->entries);
	free(m->default_spec);
	free(m->origin);
	memset(m, 0, sizeof(*m));
}

int vd_boot_menu_add(struct vd_boot_menu *m, struct vd_boot_entry *e)
{
	struct vd_boot_entry *grown;

	if (m->n >= VD_BOOT_MAX_ENTRIES)
		return -E2BIG;
	if (!e->args && !(e->args = strdup("")))
		return -ENOMEM;
	if (!e->index_path && asprintf(&e->index_path, "%zu", m->n) < 0) {
		e->index_path = NULL;
		return -ENOMEM;
	}
	if (!e->title && !(e->title = strdup(e->id ? e->id : e->index_path)))
		return -ENOMEM;
	grown = realloc(m->entries, (m->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	m->entries = grown;
	m->entries[m->n++] = *e;
	memset(e, 0, sizeof(*e));
	return 0;
}

/* "a>b" names the entry itself; "a" names a submenu's first entry when p starts with "a>". */
static bool path_match(const char *p, const char *spec, bool *ret_prefix)
{
	size_t n = strlen(spec);

	*ret_prefix = false;
	if (!p)
		return false;
	if (!strcmp(p, spec))
		return true;
	if (!strncmp(p, spec, n) && p[n] == '>')
		*ret_prefix = true;
	return false;
}

static const char *last_component(const char *p)
{
	const char *gt = p ? strrchr(p, '>') : NULL;

	return gt ? gt + 1 : p;
}

static int find(const struct vd_boot_menu *m, const char *spec, bool bare, size_t *ret_index)
{
	ssize_t prefix_hit = -1;

	if (!spec || !*spec)
		return -ENOENT;
	/* Exact index, title or id paths first; then a submenu prefix; then a bare title or id. */
	for (size_t i = 0; i < m->n; i++) {
		const struct vd_boot_entry *e = &m->entries[i];
		bool p1, p2, p3;

		if (path_match(e->index_path, spec, &p1) || path_match(e->title, spec, &p2) ||
		    path_match(e->id, spec, &p3)) {
			*ret_index = i;
			return 0;
		}
		if ((p1 || p2 || p3) && prefix_hit < 0)
			prefix_hit = (ssize_t)i;
	}
	if (prefix_hit >= 0) {
		*ret_index = (size_t)prefix_hit;
		return 0;
	}
	for (size_t i = 0; bare && i < m->n; i++) {
		const struct vd_boot_entry *e = &m->entries[i];
		const char *t = last_component(e->title), *id = last_component(e->id);

		if ((t && !strcmp(t, spec)) || (id && !strcmp(id, spec))) {
			*ret_index = i;
			return 0;
		}
	}
	return -ENOENT;
}

int vd_boot_menu_find(const struct vd_boot_menu *m, const char *spec, size_t *ret_index)
{
	return find(m, spec, true, ret_index);
}

int vd_boot_menu_default(const struct vd_boot_menu *m, size_t *ret_index)
{
	if (m->n == 0)
		return -ENOENT;
	/* grub matches its default against the top level's titles and ids, or a path through a
	 * submenu: the bare title of an entry inside a submenu matches nothing (grub-mkconfig's
	 * title correction, meant to turn it into a path, compares "x$default" and never does) */
	if (m->default_spec && find(m, m->default_spec, false, ret_index) == 0)
		return 0;
	*ret_index = 0;
	return 0;
}

void vd_boot_vars_dispose(struct vd_boot_vars *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->keys[i]);
		free(v->values[i]);
	}
	free(v->keys);
	free(v->values);
	memset(v, 0, sizeof(*v));
}

#define MAX_VARS 512

int vd_boot_vars_set(struct vd_boot_vars *v, const char *key, const char *value)
{
	char *val, **k, **vals;

	if (strlen(value) > VD_BOOT_MAX_VALUE)
		return -E2BIG;
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->keys[i], key)) {
			val = strdup(value);
			if (!val)
				return -ENOMEM;
			free(v->values[i]);
			v->values[i] = val;
			return 0;
		}
	if (v->n >= MAX_VARS)
		return -E2BIG;
	k = realloc(v->keys, (v->n + 1) * sizeof(*k));
	if (!k)
		return -ENOMEM;
	v->keys = k;
	vals = realloc(v->values, (v->n + 1) * sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	v->values = vals;
	v->keys[v->n] = strdup(key);
	v->values[v->n] = strdup(value);
	if (!v->keys[v->n] || !v->values[v->n]) {
		free(v->keys[v->n]);
		free(v->values[v->n]);
		return -ENOMEM;
	}
	v->n++;
	return 0;
}

const char *vd_boot_vars_get(const struct vd_boot_vars *v, const char *key)
{
	if (!v)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->keys[i], key))
			return v->values[i];
	return NULL;
}

/* Growth by doubling, so that appending byte by byte reallocates log(n) times, not n times (a
 * fuzzer's 8 KiB values made 8192 reallocations each, and ASan's quarantine of the freed copies
 * grew to hundreds of MB). The buffer's real size comes from the allocator, so any malloc'd
 * string (strdup(""), asprintf) can be appended to. */
static size_t strbuf_capacity(size_t len)
{
	size_t cap = 16;

	while (cap < len + 1)
		cap *= 2;
	return cap;
}

int vd_boot_strbuf_append(char **buf, size_t *len, const char *s, size_t n)
{
	char *grown = *buf;

	if (*len + n > VD_BOOT_MAX_VALUE)
		return -E2BIG;
	if (!*buf || malloc_usable_size(*buf) < *len + n + 1) {
		grown = realloc(*buf, strbuf_capacity(*len + n));
		if (!grown)
			return -ENOMEM;
	}
	memcpy(grown + *len, s, n);
	*len += n;
	grown[*len] = '\0';
	*buf = grown;
	return 0;
}

ssize_t vd_boot_find_control_char(const char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return p - s;
	return -1;
}

int vd_boot_next_keyval(const char **p, const char *end, bool eq, char *key, size_t keylen,
			char **ret_value)
{
	while (*p < end) {
		const char *nl = memchr(*p, '\n', (size_t)(end - *p));
		const char *line_end = nl ? nl : end;
		const char *k = *p, *kend, *v, *vend;

		*p = line_end + 1;
		while (k < line_end && isspace((unsigned char)*k))
			k++;
		if (k >= line_end || *k == '#')
			continue;
		kend = k;
		while (kend < line_end && !isspace((unsigned char)*kend) && !(eq && *kend == '='))
			kend++;
		v = kend;
		while (v < line_end && (isspace((unsigned char)*v) || (eq && v == kend && *v == '=')))
			v++;
		vend = line_end;
		while (vend > v && isspace((unsigned char)vend[-1]))
			vend--;
		if ((size_t)(kend - k) >= keylen)
			continue;
		if ((size_t)(vend - v) > VD_BOOT_MAX_VALUE)
			return -E2BIG;
		*ret_value = strndup(v, (size_t)(vend - v));
		if (!*ret_value)
			return -ENOMEM;
		memcpy(key, k, (size_t)(kend - k));
		key[kend - k] = '\0';
		return 1;
	}
	return 0;
}
