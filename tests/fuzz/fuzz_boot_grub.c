#include "boot_fuzz_common.h"

/* The guest's files, for -e/-f tests and `source`: every path holds the config itself, so
 * sourcing recurses as deep and as often as the interpreter allows. */
struct self {
	const char *text;
	size_t len;
};

static int self_read(void *userdata, const char *device, const char *path, char **ret_text,
		     size_t *ret_len)
{
	const struct self *s = userdata;

	if (path[0] != '/' || !path[1])
		return -ENOENT;
	*ret_text = malloc(s->len + 1);
	if (!*ret_text)
		return -ENOMEM;
	memcpy(*ret_text, s->text, s->len);
	*ret_len = s->len;
	return 0;
}

static int self_stat(void *userdata, const char *device, const char *path, uint64_t *ret_size,
		     bool *ret_dir)
{
	const struct self *s = userdata;

	*ret_dir = !strcmp(path, "/");
	*ret_size = s->len;
	return path[0] == '/' ? 0 : -ENOENT;
}

/* `search`: a key starting with a digit is found on the second partition (or the hint). */
static int self_search(void *userdata, char kind, const char *key, const char *hint,
		       char **ret_device)
{
	if (!(key[0] >= '0' && key[0] <= '9') && kind != 'f')
		return 0;
	*ret_device = strdup(hint ? hint : "hd0,gpt2");
	return *ret_device ? 1 : -ENOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vd_boot_vars env = {};
	struct vd_boot_menu m = {};
	const char *split = memchr(data, '\x01', size);
	size_t env_len = split ? (size_t)(split - (const char *)data) : 0;

	/* "grubenv \x01 grub.cfg" when a \x01 is present, else grub.cfg alone */
	if (split && vd_boot_grubenv_parse((const char *)data, env_len, &env) != 0)
		return 0;
	if (split) {
		data += env_len + 1;
		size -= env_len + 1;
	}
	struct self self = { (const char *)data, size };
	struct vd_boot_grub_host host = { .stat_file = self_stat,
					  .read_file = self_read,
					  .search = self_search,
					  .userdata = &self,
					  .config_path = "/boot/grub/grub.cfg",
					  .config_device = "hd0,gpt1" };

	if (vd_boot_grub_parse_full((const char *)data, size, &env, &host, &m, NULL, NULL) == 0) {
		check_menu(&m);
		vd_boot_menu_dispose(&m);
	}
	vd_boot_vars_dispose(&env);
	return 0;
}
