/* Reads a bootloader result file exactly as libxl 4.17's parse_bootloader_result() does
 * (tools/libs/light/libxl_bootloader.c:224-287) and prints what libxl
 * would take: "kernel=...", "ramdisk=...", "args=..." lines, plus "warning: ..." lines for items
 * libxl would skip. Exit 1 when the file cannot be read. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static void item(const char *buf)
{
	static const char *const keys[] = { "kernel", "ramdisk", "args" };

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(keys[i]);

		if (!strncmp(buf, keys[i], n) && isspace((unsigned char)buf[n])) {
			const char *v = buf + n;

			while (isspace((unsigned char)*v))
				v++;
			printf("%s=%s\n", keys[i], v);
			return;
		}
	}
	printf("warning: unexpected output (\"%s\")\n", buf);
}

int main(int argc, char **argv)
{
	char buf[PATH_MAX * 2];
	size_t len = 0;
	int c;
	FILE *f;

	if (argc != 2 || !(f = fopen(argv[1], "r"))) {
		fprintf(stderr, "usage: libxl_parse FILE\n");
		return 1;
	}
	for (;;) {
		c = getc(f);
		if (c == EOF || c == '\0') {
			if (len >= sizeof(buf)) {
				printf("warning: bootloader output item too long, skipped\n");
			} else if (len > 0) {
				buf[len] = '\0';
				item(buf);
			}
			len = 0;
			if (c == EOF)
				break;
			continue;
		}
		if (len < sizeof(buf) - 1)
			buf[len] = (char)c;
		if (len < sizeof(buf))
			len++;
	}
	fclose(f);
	return 0;
}
