#include <string.h>

#include "base/config.h"
#include "base/error.h"

static int parse_bool(const char *v, bool *ret)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on"))
		*ret = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

static int parse_int(const char *v, int min, int max, int *ret)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		return -EINVAL;
	*ret = (int)n;
	return 0;
}

static int set_string(char **field, const char *v)
{
	char *copy = strdup(v);

	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

static int apply(struct vd_config *c, const char *key, const char *v)
{
	if (!strcmp(key, "database"))
		return v[0] == '/' ? set_string(&c->db_path, v) : -EINVAL;
	if (!strcmp(key, "extent_size"))
		return vd_parse_size(v, &c->extent_size);
	if (!strcmp(key, "sharing"))
		return parse_int(v, VD_SHARING_READERS, VD_SHARING_ANY, &c->sharing_level);
	if (!strcmp(key, "scrub"))
		return parse_bool(v, &c->scrub);
	if (!strcmp(key, "boot_kernel_max"))
		return vd_parse_size(v, &c->kernel_max);
	if (!strcmp(key, "boot_ramdisk_max"))
		return vd_parse_size(v, &c->ramdisk_max);
	if (!strcmp(key, "boot_config_max"))
		return vd_parse_size(v, &c->config_max);
	if (!strcmp(key, "boot_timeout"))
		return parse_int(v, 1, 3600, &c->boot_timeout);
	if (!strcmp(key, "log_level"))
		return parse_int(v, 0, 3, &c->log_level);
	if (!strcmp(key, "hotplug_log"))
		return set_string(&c->hotplug_log, v);
	if (!strcmp(key, "database_storage"))
		return !strcmp(v, "auto") || !strcmp(v, "pool") || !strcmp(v, "file")
			       ? set_string(&c->db_storage, v)
			       : -EINVAL;
	if (!strcmp(key, "host_id"))
		return parse_int(v, 1, 2000, &c->host_id);
	if (!strcmp(key, "lockspace_io_timeout"))
		return parse_int(v, 1, 300, &c->lockspace_io_timeout);
	return -ENOKEY;
}

int vd_config_init(struct vd_config *ret)
{
	struct vd_config c = {
		.extent_size = 64ULL << 20,
		.sharing_level = VD_SHARING_READERS,
		.scrub = true,
		.kernel_max = 256ULL << 20,
		.ramdisk_max = 256ULL << 20,
		.config_max = 1ULL << 20,
		.boot_timeout = 60,
		.log_level = VD_LOG_WARN,
		.lockspace_io_timeout = 10,
	};

	if (set_string(&c.db_path, XENVD_DB_PATH) < 0 || set_string(&c.db_storage, "auto") < 0 ||
	    set_string(&c.hotplug_log, "/var/log/xen/xen-hotplug.log") < 0) {
		vd_config_dispose(&c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

int vd_config_load(const char *path, struct vd_config *ret)
{
	struct vd_config c;
	_cleanup_fclose_ FILE *f = NULL;
	char line[1024];
	unsigned lineno = 0;
	const char *env;
	int r;

	if (!path)
		path = vd_config_default_path();
	r = vd_config_init(&c);
	if (r < 0)
		return r;

	f = fopen(path, "re");
	if (!f && errno != ENOENT) {
		r = vd_err(-errno, "cannot read configuration %s: %m", path);
		goto fail;
	}
	while (f && fgets(line, sizeof(line), f)) {
		char *key, *value, *eq, *hash;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			r = vd_err(-EINVAL, "%s:%u: line too long", path, lineno);
			goto fail;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		key = vd_strip(line);
		if (!*key)
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			r = vd_err(-EINVAL, "%s:%u: expected 'key = value'", path, lineno);
			goto fail;
		}
		*eq = '\0';
		value = vd_strip(eq + 1);
		key = vd_strip(key);
		r = apply(&c, key, value);
		if (r == -ENOKEY) {
			r = vd_err(-EINVAL, "%s:%u: unknown key '%s' (see xenvd.conf(5))", path,
				   lineno, key);
			goto fail;
		}
		if (r < 0) {
			r = vd_err(r == -ENOMEM ? r : -EINVAL, "%s:%u: invalid value '%s' for %s "
				   "(see xenvd.conf(5))", path, lineno, value, key);
			goto fail;
		}
	}
	env = getenv("XENVD_DB");
	if (env && *env && set_string(&c.db_path, env) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	env = getenv("XENVD_DB_STORAGE");
	if (env && *env) {
		r = apply(&c, "database_storage", env);
		if (r < 0) {
			r = vd_err(r == -ENOMEM ? r : -EINVAL, "XENVD_DB_STORAGE='%s': expected auto, "
				   "pool or file", env);
			goto fail;
		}
	}
	*ret = c;
	return 0;
fail:
	vd_config_dispose(&c);
	return r;
}

void vd_config_dispose(struct vd_config *c)
{
	free(c->db_path);
	free(c->hotplug_log);
	free(c->db_storage);
	c->db_path = c->hotplug_log = c->db_storage = NULL;
}

const char *vd_config_default_path(void)
{
	const char *env = getenv("XENVD_CONF");

	return env && *env ? env : XENVD_CONF_PATH;
}
