#include <string.h>
#include <sys/stat.h>

#include "boot/boot_path.h"
#include "base/error.h"

#define MAX_DEPTH 64
#define MAX_PATH 4096

int vd_boot_path_canonical(const char *path, char *out, size_t len)
{
	size_t depth_len[MAX_DEPTH];
	size_t depth = 0, o = 0;
	const char *p = path;

	if (len < 2)
		return -ENAMETOOLONG;
	out[0] = '\0';
	while (*p) {
		const char *end;
		size_t clen;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		end = strchrnul(p, '/');
		clen = (size_t)(end - p);
		if (clen == 1 && p[0] == '.') {
			/* nothing */
		} else if (clen == 2 && p[0] == '.' && p[1] == '.') {
			if (depth > 0)
				o = depth_len[--depth];
			out[o] = '\0';
		} else {
			if (depth >= MAX_DEPTH || o + 1 + clen + 1 > len)
				return -ENAMETOOLONG;
			depth_len[depth++] = o;
			out[o++] = '/';
			memcpy(out + o, p, clen);
			o += clen;
			out[o] = '\0';
		}
		p = end;
	}
	if (o == 0) {
		out[0] = '/';
		out[1] = '\0';
	}
	return 0;
}

void vd_boot_ns_init(struct vd_boot_ns *ns, struct vd_boot_fs *root)
{
	memset(ns, 0, sizeof(*ns));
	snprintf(ns->mounts[0].path, sizeof(ns->mounts[0].path), "/");
	ns->mounts[0].fs = root;
	ns->n = 1;
}

int vd_boot_ns_add_mount(struct vd_boot_ns *ns, const char *path, struct vd_boot_fs *fs)
{
	char canon[256];
	int r = vd_boot_path_canonical(path, canon, sizeof(canon));

	if (r < 0)
		return r;
	for (size_t i = 0; i < ns->n; i++)
		if (!strcmp(ns->mounts[i].path, canon)) {
			ns->mounts[i].fs = fs; /* a later fstab line wins, as mount(8) stacks */
			return 0;
		}
	if (ns->n >= VD_BOOT_MAX_MOUNTS)
		return -ENOSPC;
	snprintf(ns->mounts[ns->n].path, sizeof(ns->mounts[ns->n].path), "%s", canon);
	ns->mounts[ns->n].fs = fs;
	ns->n++;
	return 0;
}

static struct vd_boot_fs *mount_at(const struct vd_boot_ns *ns, const char *canon)
{
	for (size_t i = 0; i < ns->n; i++)
		if (!strcmp(ns->mounts[i].path, canon))
			return ns->mounts[i].fs;
	return NULL;
}

struct frame {
	struct vd_boot_fs *fs;
	vd_boot_ino ino;
	size_t path_len; /* length of the canonical path up to and including this frame */
};

int vd_boot_ns_resolve(const struct vd_boot_ns *ns, const char *path, struct vd_boot_fs **ret_fs,
		       vd_boot_ino *ret_ino)
{
	struct frame stack[MAX_DEPTH];
	size_t depth = 0;
	char canon[MAX_PATH];
	_cleanup_free_ char *todo = NULL;
	size_t pos = 0;
	unsigned links = 0;
	int r;

	if (!path || strlen(path) >= MAX_PATH)
		return -ENAMETOOLONG;
	todo = strdup(path);
	if (!todo)
		return -ENOMEM;
	stack[0] = (struct frame){ .fs = mount_at(ns, "/"), .ino = VD_BOOT_ROOT_INO, .path_len = 0 };
	canon[0] = '\0';

	while (todo[pos]) {
		char name[256];
		const char *start, *end;
		size_t clen;
		struct frame *cur = &stack[depth], next;
		mode_t mode;
		uint64_t size;
		struct vd_boot_fs *mounted;

		while (todo[pos] == '/')
			pos++;
		if (!todo[pos])
			break;
		start = todo + pos;
		end = strchrnul(start, '/');
		clen = (size_t)(end - start);
		pos += clen;
		if (clen >= sizeof(name))
			return -ENAMETOOLONG;
		memcpy(name, start, clen);
		name[clen] = '\0';
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			if (depth > 0)
				depth--;
			canon[stack[depth].path_len] = '\0';
			continue;
		}
		if (depth + 1 >= MAX_DEPTH || cur->path_len + 1 + clen >= sizeof(canon))
			return -ENAMETOOLONG;

		r = vd_boot_fs_stat(cur->fs, cur->ino, &mode, &size);
		if (r < 0)
			return r;
		if (!S_ISDIR(mode))
			return -ENOTDIR;

		next.path_len = cur->path_len + 1 + clen;
		canon[cur->path_len] = '/';
		memcpy(canon + cur->path_len + 1, name, clen + 1);
		mounted = mount_at(ns, canon);
		if (mounted) {
			next.fs = mounted;
			next.ino = VD_BOOT_ROOT_INO;
			stack[++depth] = next;
			continue;
		}
		next.fs = cur->fs;
		r = vd_boot_fs_lookup(cur->fs, cur->ino, name, &next.ino);
		if (r < 0) {
			canon[cur->path_len] = '\0';
			return r;
		}
		r = vd_boot_fs_stat(next.fs, next.ino, &mode, &size);
		if (r < 0)
			return r;
		if (S_ISLNK(mode)) {
			_cleanup_free_ char *target = NULL;
			char *rest;

			if (++links > VD_BOOT_MAX_SYMLINKS)
				return -ELOOP;
			r = vd_boot_fs_readlink(next.fs, next.ino, MAX_PATH - 1, &target);
			if (r < 0)
				return r;
			if (strlen(target) + 1 + strlen(todo + pos) >= MAX_PATH)
				return -ENAMETOOLONG;
			if (asprintf(&rest, "%s/%s", target, todo + pos) < 0)
				return -ENOMEM;
			free(todo);
			todo = rest;
			pos = 0;
			canon[cur->path_len] = '\0';
			if (target[0] == '/') {
				depth = 0;
				canon[0] = '\0';
			}
			continue;
		}
		stack[++depth] = next;
	}
	*ret_fs = stack[depth].fs;
	*ret_ino = stack[depth].ino;
	return 0;
}

int vd_boot_ns_resolve_file(const struct vd_boot_ns *ns, const char *path,
			    struct vd_boot_fs **ret_fs, vd_boot_ino *ret_ino, uint64_t *ret_size)
{
	struct vd_boot_fs *fs;
	vd_boot_ino ino;
	uint64_t size;
	int r;

	r = vd_boot_ns_resolve(ns, path, &fs, &ino);
	if (r == 0)
		r = vd_boot_fs_regular_size(fs, ino, &size);
	if (r < 0)
		return r;
	*ret_fs = fs;
	*ret_ino = ino;
	*ret_size = size;
	return 0;
}
