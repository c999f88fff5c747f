/* --entry=[dev:]kernel[,initrd], domUloader's way of naming what to boot directly. */
#include <string.h>

#include "boot/boot_menu.h"

void vd_boot_entry_spec_dispose(struct vd_boot_entry_spec *s)
{
	free(s->dev);
	free(s->kernel);
	free(s->initrd);
	memset(s, 0, sizeof(*s));
}

int vd_boot_entry_spec_parse(const char *s, struct vd_boot_entry_spec *ret)
{
	struct vd_boot_entry_spec spec = {};
	const char *colon = strchr(s, ':'), *rest = s, *comma;

	if (strlen(s) > VD_BOOT_MAX_VALUE || vd_boot_find_control_char(s) >= 0)
		return -EINVAL;
	if (colon) {
		if (colon == s)
			return -EINVAL;
		spec.dev = strndup(s, (size_t)(colon - s));
		if (!spec.dev)
			return -ENOMEM;
		rest = colon + 1;
	}
	comma = strchr(rest, ',');
	spec.kernel = comma ? strndup(rest, (size_t)(comma - rest)) : strdup(rest);
	if (comma && comma[1])
		spec.initrd = strdup(comma + 1);
	if (!spec.kernel || (comma && comma[1] && !spec.initrd)) {
		vd_boot_entry_spec_dispose(&spec);
		return -ENOMEM;
	}
	if (spec.kernel[0] != '/' || (spec.initrd && (spec.initrd[0] != '/' ||
						      strchr(spec.initrd, ',')))) {
		vd_boot_entry_spec_dispose(&spec);
		return -EINVAL;
	}
	*ret = spec;
	return 0;
}
