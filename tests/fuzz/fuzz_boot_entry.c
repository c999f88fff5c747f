#include "boot_fuzz_common.h"
#include "boot/boot_output.h"
#include "boot/boot_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), canon[512], *out;
	struct vd_boot_entry_spec spec = {};
	size_t len;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (vd_boot_entry_spec_parse(s, &spec) == 0) {
		if (!spec.kernel || spec.kernel[0] != '/')
			abort();
		vd_boot_entry_spec_dispose(&spec);
	}
	if (s[0] == '/' && vd_boot_path_canonical(s, canon, sizeof(canon)) == 0 &&
	    (canon[0] != '/' || strstr(canon, "/../") || strstr(canon, "//")))
		abort();
	/* whatever the value, rendered output never carries an extra item */
	for (int fmt = VD_BOOT_SIMPLE0; fmt <= VD_BOOT_SXP; fmt++) {
		size_t seps = 0;
		char sep = fmt == VD_BOOT_SIMPLE0 ? '\0' : '\n';

		if (vd_boot_output_render(fmt, "/k", NULL, s, &out, &len) != 0)
			continue;
		for (size_t i = 0; i < len; i++)
			seps += out[i] == sep;
		if (fmt != VD_BOOT_SXP && seps != (s[0] ? 2u : 1u))
			abort();
		if (fmt == VD_BOOT_SXP && seps != 1)
			abort();
		free(out);
	}
	free(s);
	return 0;
}
