/* vdloader's config parsers, output formats and path rules: pure functions of guest text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "boot/boot_menu.h"
#include "boot/boot_output.h"
#include "boot/boot_path.h"

static struct vd_boot_menu grub(const char *text, const struct vd_boot_vars *env)
{
	struct vd_boot_menu m = {};

	assert_int_equal(vd_boot_grub_parse(text, strlen(text), env, &m), 0);
	return m;
}

static const struct vd_boot_entry *chosen(const struct vd_boot_menu *m)
{
	size_t i;

	assert_int_equal(vd_boot_menu_default(m, &i), 0);
	return &m->entries[i];
}

static void test_grub_default_index_picks_that_entry(void **state)
{
	struct vd_boot_menu m = grub("set default=1\n"
				     "menuentry 'a' { linux /a x=1\n}\n"
				     "menuentry \"b\" {\n linux16 /b y=2\n initrd16 /ib\n}\n",
				     NULL);

	assert_int_equal(m.n, 2);
	assert_string_equal(chosen(&m)->kernel, "/b");
	assert_string_equal(chosen(&m)->args, "y=2");
	assert_string_equal(chosen(&m)->initrds[0], "/ib");
	vd_boot_menu_dispose(&m);
}

static void test_grub_saved_entry_comes_from_grubenv(void **state)
{
	static const char env_text[] = "# GRUB Environment Block\nsaved_entry=second\n#####";
	struct vd_boot_vars env = {};
	struct vd_boot_menu m;

	assert_int_equal(vd_boot_grubenv_parse(env_text, strlen(env_text), &env), 0);
	m = grub("load_env\nif [ \"${next_entry}\" ] ; then\n set default=\"${next_entry}\"\nelse\n"
		 " set default=\"${saved_entry}\"\nfi\n"
		 "menuentry first { linux /1\n}\nmenuentry second { linuxefi /2\n}\n",
		 &env);
	assert_string_equal(chosen(&m)->kernel, "/2");
	vd_boot_menu_dispose(&m);
	vd_boot_vars_dispose(&env);
}

static void test_grub_submenus_have_index_title_and_id_paths(void **state)
{
	struct vd_boot_menu m = grub(
		"if [ x\"${feature_menuentry_id}\" = xy ]; then\n menuentry_id_option=\"--id\"\n"
		"else\n menuentry_id_option=\"\"\nfi\nexport menuentry_id_option\n"
		"menuentry 'Top' $menuentry_id_option 'top-id' { linux /t\n}\n"
		"submenu 'Adv' $menuentry_id_option 'adv-id' {\n"
		" menuentry 'Old' $menuentry_id_option 'old-id' { linux /old\n }\n"
		" menuentry 'Older' --id older-id { linux /older\n }\n}\n",
		NULL);
	size_t i;

	assert_int_equal(m.n, 3);
	assert_string_equal(m.entries[2].index_path, "1>1");
	assert_string_equal(m.entries[2].title, "Adv>Older");
	assert_string_equal(m.entries[2].id, "adv-id>older-id");
	assert_int_equal(vd_boot_menu_find(&m, "1>0", &i), 0);
	assert_string_equal(m.entries[i].kernel, "/old");
	assert_int_equal(vd_boot_menu_find(&m, "adv-id>old-id", &i), 0);
	assert_int_equal(i, 1);
	assert_int_equal(vd_boot_menu_find(&m, "1", &i), 0); /* a submenu: its first entry */
	assert_int_equal(i, 1);
	assert_int_equal(vd_boot_menu_find(&m, "Older", &i), 0);
	assert_int_equal(i, 2);
	assert_int_equal(vd_boot_menu_find(&m, "nonesuch", &i), -ENOENT);
	vd_boot_menu_dispose(&m);
}

static void test_grub_quoting_escapes_and_several_initrds(void **state)
{
	struct vd_boot_menu m = grub("set opts='a b'\n"
				     "menuentry 'q' {\n linux /k root=/dev/x\\ 1 \"$opts\" z=\\\"\n"
				     " initrd /u.img /i.img\n}\n",
				     NULL);

	assert_string_equal(m.entries[0].args, "\"root=/dev/x 1\" \"a b\" z=\"");
	assert_int_equal(m.entries[0].n_initrds, 2);
	assert_string_equal(m.entries[0].initrds[1], "/i.img");
	vd_boot_menu_dispose(&m);
}

static void test_grub_rejects_broken_input(void **state)
{
	static const char nul[] = "menuentry a { linux /k\0 x\n}\n";
	const char *bad[] = { "menuentry a { linux /k\n", "}\n", "menuentry 'a\n{ linux /k }\n",
			      "menuentry { linux /k\n}\n" };
	struct vd_boot_menu m = {};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_true(vd_boot_grub_parse(bad[i], strlen(bad[i]), NULL, &m) < 0);
	assert_int_equal(vd_boot_grub_parse(nul, sizeof(nul) - 1, NULL, &m), -EILSEQ);
}

static void test_grub_function_bodies_are_not_entries(void **state)
{
	struct vd_boot_menu m = grub("function f {\n menuentry x { linux /no\n }\n}\n"
				     "menuentry y { linux /yes\n}\n",
				     NULL);

	assert_int_equal(m.n, 1);
	assert_string_equal(m.entries[0].kernel, "/yes");
	vd_boot_menu_dispose(&m);
}

/* Ubuntu's grub-mkconfig output: every entry calls functions the header defines; gfxmode sets
 * the variable its `linux` line expands ($vt_handoff), from its argument ($1). */
static void test_grub_functions_run_as_grub_runs_them(void **state)
{
	struct vd_boot_menu m = grub(
		"function gfxmode {\n"
		"\tset gfxpayload=\"${1}\"\n"
		"\tif [ \"${1}\" = \"keep\" ]; then\n"
		"\t\tset vt_handoff=vt.handoff=7\n"
		"\telse\n"
		"\t\tset vt_handoff=\n"
		"\tfi\n"
		"}\n"
		"function load_video {\n  if [ x$feature_all_video_module = xy ]; then\n"
		"    insmod all_video\n  else\n    insmod efi_gop\n  fi\n}\n"
		"function recordfail {\n  set recordfail=1\n}\n"
		"if [ \"${recordfail}\" != 1 ]; then\n  set linux_gfx_mode=keep\n"
		"else\n  set linux_gfx_mode=text\nfi\nexport linux_gfx_mode\n"
		"menuentry 'Ubuntu' --id gnulinux-simple {\n\trecordfail\n\tload_video\n"
		"\tgfxmode $linux_gfx_mode\n"
		"\tlinux /boot/vmlinuz root=/dev/xvda1 ro quiet splash $vt_handoff\n"
		"\tinitrd /boot/initrd.img\n}\n"
		"menuentry 'text' {\n\tgfxmode text\n\tlinux /boot/vmlinuz ro $vt_handoff x=$gfxpayload\n}\n"
		"function ret {\n  set a=1\n  return\n  set a=2\n}\n"
		"function args {\n  set n=$#\n  set second=\"$2\"\n  ret\n}\n"
		"menuentry 'args' {\n\targs one \"two 2\"\n\tlinux /k $n $second $a [$1]\n}\n",
		NULL);

	assert_int_equal(m.n, 3);
	assert_string_equal(m.entries[0].args, "root=/dev/xvda1 ro quiet splash vt.handoff=7");
	assert_string_equal(m.entries[1].args, "ro x=text");
	/* arguments, $#, return, and $1 restored after the call to the entry's own: its title */
	assert_string_equal(m.entries[2].args, "2 two 2 1 [args]");
	vd_boot_menu_dispose(&m);
}

/* grub runs an entry's commands when it boots it: with the variables the whole script left, and
 * without what another entry's body set. */
static void test_grub_entry_bodies_run_alone_after_the_script(void **state)
{
	struct vd_boot_menu m = grub("menuentry a {\n set x=from-a\n linux /a $y\n}\n"
				     "menuentry b {\n linux /b $x\n}\n"
				     "set y=late\n",
				     NULL);

	assert_int_equal(m.n, 2);
	assert_string_equal(m.entries[0].args, "late");
	assert_string_equal(m.entries[1].args, "");
	vd_boot_menu_dispose(&m);
}

/* Hostile scripts: recursion is cut at a fixed depth and the total work is bounded. */
static void test_grub_recursion_is_bounded(void **state)
{
	struct vd_boot_menu m = grub("function f {\n f\n}\nf\nmenuentry e { linux /e\n}\n", NULL);
	const char *bomb = "function f {\n f; f; f; f\n}\nf\nmenuentry e { linux /e\n}\n";

	assert_int_equal(m.n, 1);
	assert_string_equal(m.entries[0].kernel, "/e");
	vd_boot_menu_dispose(&m);
	memset(&m, 0, sizeof(m));
	assert_int_equal(vd_boot_grub_parse(bomb, strlen(bomb), NULL, &m), -E2BIG);

	/* 400 variables of 8000 bytes each, built by expansion from little text, and 1000
	 * entries: each entry's body starts from a copy of the variables (3 GB in all); refused */
	{
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		fprintf(f, "set a=%0100d\nset b=$a$a$a$a$a$a$a$a$a$a\nset c=$b$b$b$b$b$b$b$b\n", 0);
		for (int i = 0; i < 400; i++)
			fprintf(f, "set v%d=$c\n", i);
		for (int i = 0; i < 1000; i++)
			fprintf(f, "menuentry e%d { linux /e\n}\n", i);
		fclose(f);
		assert_int_equal(vd_boot_grub_parse(text, len, NULL, &m), -E2BIG);
		free(text);
	}
}

/* grub-reboot sets next_entry: grub-mkconfig's header makes it the default over saved_entry. */
static void test_grub_next_entry_wins_over_saved_entry(void **state)
{
	static const char env_text[] = "# GRUB Environment Block\nsaved_entry=first\n"
				       "next_entry=third\n#####";
	static const char cfg[] = "load_env\nif [ \"${next_entry}\" ] ; then\n"
				  "   set default=\"${next_entry}\"\n   set next_entry=\n"
				  "   save_env next_entry\n   set boot_once=true\nelse\n"
				  "   set default=\"${saved_entry}\"\nfi\n"
				  "menuentry first { linux /1\n}\nmenuentry second { linux /2\n}\n"
				  "menuentry third { linux /3\n}\n";
	struct vd_boot_vars env = {};
	struct vd_boot_menu m;

	assert_int_equal(vd_boot_grubenv_parse(env_text, strlen(env_text), &env), 0);
	m = grub(cfg, &env);
	assert_string_equal(chosen(&m)->kernel, "/3");
	vd_boot_menu_dispose(&m);
	vd_boot_vars_dispose(&env);
}

/* `grub-set-default 'Debian GNU/Linux, with Linux 6.1.0-17-amd64'` (a title inside the
 * "Advanced options" submenu, without its path): grub finds no such top-level entry and boots
 * the first one; the path form reaches into the submenu. */
static void test_grub_default_bare_title_inside_a_submenu_matches_nothing(void **state)
{
	static const char cfg[] =
		"load_env\nset default=\"${saved_entry}\"\n"
		"menuentry 'Debian GNU/Linux' --id gnulinux-simple { linux /new\n}\n"
		"submenu 'Advanced options for Debian GNU/Linux' --id gnulinux-advanced {\n"
		" menuentry 'Debian GNU/Linux, with Linux 6.1.0-18-amd64' --id gl-18 { linux /new\n}\n"
		" menuentry 'Debian GNU/Linux, with Linux 6.1.0-17-amd64' --id gl-17 { linux /old\n}\n"
		"}\n"
		"if [ \"x$default\" = 'Debian GNU/Linux, with Linux 6.1.0-17-amd64' ]; then "
		"default='Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux "
		"6.1.0-17-amd64'; fi;\n";
	static const char *const bare[] = { "Debian GNU/Linux, with Linux 6.1.0-17-amd64", "gl-17" };
	static const char *const path[] = {
		"Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-17-amd64",
		"gnulinux-advanced>gl-17", "1>1" };
	struct vd_boot_vars env = {};
	struct vd_boot_menu m;
	size_t i;

	for (size_t k = 0; k < ARRAY_SIZE(bare); k++) {
		assert_int_equal(vd_boot_vars_set(&env, "saved_entry", bare[k]), 0);
		m = grub(cfg, &env);
		assert_string_equal(chosen(&m)->title, "Debian GNU/Linux");
		/* what --entry accepts is another matter: there the bare title is enough */
		assert_int_equal(vd_boot_menu_find(&m, bare[k], &i), 0);
		assert_string_equal(m.entries[i].kernel, "/old");
		vd_boot_menu_dispose(&m);
	}
	for (size_t k = 0; k < ARRAY_SIZE(path); k++) {
		assert_int_equal(vd_boot_vars_set(&env, "saved_entry", path[k]), 0);
		m = grub(cfg, &env);
		assert_string_equal(chosen(&m)->kernel, "/old");
		vd_boot_menu_dispose(&m);
	}
	vd_boot_vars_dispose(&env);
}

/* Files `source` reads: 41_custom's custom.cfg, CoreOS's first-boot marker, and hostile ones. */
static int fake_read(void *userdata, const char *device, const char *path, char **ret_text,
		     size_t *ret_len)
{
	static const struct {
		const char *path, *text;
	} files[] = {
		{ "/boot/grub2/custom.cfg",
		  "menuentry 'custom' --id my { linux /custom $net\n}\nset default=my\n" },
		{ "/ignition.firstboot", "set ignition_network_kcmdline='ip=10.0.0.2::10.0.0.1'\n" },
		{ "/self.cfg", "set n=\"x$n\"\nsource /self.cfg\n" },
		{ "/broken.cfg", "menuentry 'half' {\n linux /half\n" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		if (!strcmp(path, files[i].path)) {
			*ret_text = strdup(files[i].text);
			*ret_len = strlen(files[i].text);
			return 0;
		}
	return -ENOENT;
}

static int fake_exists(void *userdata, const char *device, const char *path, uint64_t *ret_size,
		       bool *ret_dir)
{
	char *text;
	size_t len;
	int r = fake_read(userdata, device, path, &text, &len);

	*ret_dir = false;
	*ret_size = r == 0 ? len : 0;
	if (r == 0)
		free(text);
	return r;
}

static void test_grub_source_runs_the_file_in_place(void **state)
{
	struct vd_boot_grub_host host = { .stat_file = fake_exists,
					  .read_file = fake_read,
					  .config_path = "/boot/grub2/grub.cfg" };
	static const char cfg[] =
		"set ignition_network_kcmdline='rd.neednet=1 ip=dhcp'\n"
		"if [ -f \"(${bootpart})/ignition.firstboot\" ]; then\n"
		"  source \"(${bootpart})/ignition.firstboot\"\n"
		"  set net=\"ignition.firstboot $ignition_network_kcmdline\"\nfi\n"
		"menuentry first { linux /first\n}\n"
		"if [ -f  ${config_directory}/custom.cfg ]; then\n"
		"  source ${config_directory}/custom.cfg\nfi\n"
		"source /self.cfg\nsource /broken.cfg\nsource /missing.cfg\n"
		"menuentry last { linux /last $n\n}\n";
	struct vd_boot_menu m = {};

	assert_int_equal(vd_boot_grub_parse_full(cfg, strlen(cfg), NULL, &host, &m, NULL, NULL),
			 0);
	assert_int_equal(m.n, 3);
	assert_string_equal(chosen(&m)->kernel, "/custom");
	assert_string_equal(chosen(&m)->args, "ignition.firstboot ip=10.0.0.2::10.0.0.1");
	/* a file sourcing itself stops: 16 files are read in all, two of them before it; a broken
	 * one is skipped and leaves nothing open */
	assert_string_equal(m.entries[2].kernel, "/last");
	assert_string_equal(m.entries[2].args, "xxxxxxxxxxxxxx");
	vd_boot_menu_dispose(&m);
}

static struct vd_boot_entry bls(const char *text, const char *stem, const struct vd_boot_vars *env)
{
	struct vd_boot_entry e = {};

	assert_int_equal(vd_boot_bls_parse(text, strlen(text), stem, env, &e), 0);
	return e;
}

static void test_bls_newest_version_first_and_saved_entry_wins(void **state)
{
	struct vd_boot_vars env = {};
	struct vd_boot_entry e[3];
	struct vd_boot_menu m;

	vd_boot_vars_set(&env, "kernelopts", "root=/dev/xvda1 ro");
	e[0] = bls("title A\nversion 6.5.6-300\nlinux /v6\noptions $kernelopts quiet\n", "m-6.5.6", &env);
	e[1] = bls("title B\nversion 6.5.12-300\nlinux /v12\ninitrd /i1\ninitrd /i2\n", "m-6.5.12",
		   &env);
	e[2] = bls("title C\nversion 6.4.9-100\nlinux /v4\n", "m-6.4.9", &env);
	assert_string_equal(e[0].args, "root=/dev/xvda1 ro quiet");
	assert_int_equal(vd_boot_bls_build_menu(e, 3, &env, &m), 0);
	assert_string_equal(m.entries[0].kernel, "/v12");
	assert_string_equal(m.entries[1].kernel, "/v6");
	assert_string_equal(m.entries[2].kernel, "/v4");
	assert_int_equal(m.entries[0].n_initrds, 2);
	assert_string_equal(chosen(&m)->kernel, "/v12");
	vd_boot_menu_dispose(&m);

	vd_boot_vars_set(&env, "saved_entry", "m-6.4.9");
	e[0] = bls("linux /a\nversion 2\n", "m-2", &env);
	e[1] = bls("linux /b\nversion 1\n", "m-1", &env);
	e[2] = bls("linux /c\nversion 3\n", "m-6.4.9", &env);
	assert_int_equal(vd_boot_bls_build_menu(e, 3, &env, &m), 0);
	assert_string_equal(chosen(&m)->kernel, "/c");
	vd_boot_menu_dispose(&m);
	vd_boot_vars_dispose(&env);
}

static void test_extlinux_labels_append_initrd_and_menu_default(void **state)
{
	static const char text[] = "DEFAULT one\nlabel one\n kernel /k1\n append root=/dev/a\n"
				   "LABEL two\n MENU LABEL Second\n MENU DEFAULT\n LINUX ../k2\n"
				   " APPEND initrd=/i1,/i2 console=hvc0\n";
	struct vd_boot_menu m = {};

	assert_int_equal(vd_boot_extlinux_parse(text, strlen(text), &m), 0);
	assert_int_equal(m.n, 2);
	assert_string_equal(chosen(&m)->title, "Second");
	assert_string_equal(chosen(&m)->args, "console=hvc0");
	assert_int_equal(chosen(&m)->n_initrds, 2);
	assert_string_equal(chosen(&m)->kernel, "../k2");
	vd_boot_menu_dispose(&m);
}

/* Which of /a../z the `linux` command of the only entry names, after the conditions ran. */
static char *grub_pick(const char *conds, const struct vd_boot_vars *env,
		       const struct vd_boot_grub_host *host)
{
	struct vd_boot_menu m = {};
	char *text, *k;

	assert_true(asprintf(&text, "set k=none\n%s\nmenuentry e { linux /$k\n}\n", conds) > 0);
	assert_int_equal(vd_boot_grub_parse_full(text, strlen(text), env, host, &m, NULL, NULL), 0);
	free(text);
	assert_int_equal(m.n, 1);
	k = strdup(m.entries[0].kernel + 1);
	vd_boot_menu_dispose(&m);
	return k;
}

#define assert_pick(want, conds)                                                                   \
	do {                                                                                       \
		char *got_ = grub_pick(conds, NULL, NULL);                                         \
		assert_string_equal(got_, want);                                                   \
		free(got_);                                                                        \
	} while (0)

static void test_grub_conditions_take_the_branch_grub_takes(void **state)
{
	assert_pick("b", "set a=1\nif [ \"x$a\" = \"x2\" ]; then k=a; else k=b; fi");
	assert_pick("a", "set a=2\nif [ \"x$a\" = \"x2\" ]; then k=a; else k=b; fi");
	assert_pick("a", "if [ \"$u\" != 1 ]; then set k=a; fi");
	assert_pick("c", "set a=3\nif [ $a = 1 ]; then k=a\nelif [ $a = 3 ]; then k=c\nelse k=d\nfi");
	assert_pick("d", "if [ -n \"$u\" ]; then k=a; elif [ -n \"\" ]; then k=c; else k=d; fi");
	assert_pick("z", "if [ -z \"$u\" ]; then set k=z; fi");
	assert_pick("n", "if ! [ -z x ]; then k=n; fi");
	assert_pick("n", "if [ ! -z x ]; then k=n; fi");
	assert_pick("o", "if [ x = y -o 1 -eq 1 ]; then k=o; fi");
	assert_pick("none", "if [ x = x -a 1 -gt 2 ]; then k=a; fi");
	/* nesting: an inner branch runs only inside a taken outer one */
	assert_pick("none", "if [ a = b ]; then\n if [ 1 = 1 ]; then k=a; fi\nfi");
	assert_pick("i", "if [ a = a ]; then\n if [ 1 = 2 ]; then k=a; else k=i; fi\nfi");
	assert_pick("none", "if [ a = b ]; then k=a; else\n if [ 1 = 2 ]; then k=b; fi\nfi");
	/* RHEL 7's title correction can never be true: "x$default" against a bare title */
	assert_pick("none", "set default='T'\nif [ \"x$default\" = 'T' ]; then k=a; fi");
	/* what we cannot evaluate is false, in either position */
	assert_pick("none", "if search --set=root x; then k=a; fi");
	assert_pick("b", "if keystatus --shift; then k=a; else k=b; fi");
	assert_pick("none", "if [ /a -nt /b ]; then k=a; fi");
	assert_pick("none", "if [ -s /grubenv ]; then k=a; fi"); /* no host to ask */
	/* grub's own platform: a Xen guest's grub is not EFI */
	assert_pick("x", "if [ \"$grub_platform\" = efi ]; then k=e; else k=x; fi");
	/* unquoted empty expansions are no word: [ = x ] would not parse */
	assert_pick("b", "if [ $u = x ]; then k=a; else k=b; fi");
}

static void test_grub_entries_in_branches_not_taken_do_not_exist(void **state)
{
	struct vd_boot_menu m = grub("if [ \"$grub_platform\" = efi ]; then\n"
				     " menuentry 'UEFI Firmware Settings' { fwsetup\n }\nfi\n"
				     "menuentry d { linux /d\n}\n",
				     NULL);

	assert_int_equal(m.n, 1);
	assert_string_equal(m.entries[0].kernel, "/d");
	vd_boot_menu_dispose(&m);
}

static int fake_stat(void *userdata, const char *device, const char *path, uint64_t *ret_size,
		     bool *ret_dir)
{
	*ret_dir = !strcmp(path, "/boot/grub2");
	if (!strcmp(path, "/boot/grub2/grubenv") || *ret_dir) {
		*ret_size = *ret_dir ? 4096 : 1024;
		return 0;
	}
	if (!strcmp(path, "/boot/grub2/empty")) {
		*ret_size = 0;
		return 0;
	}
	return -ENOENT;
}

static void test_grub_file_tests_ask_the_guest_and_load_env_applies_grubenv(void **state)
{
	struct vd_boot_grub_host host = { .stat_file = fake_stat,
					  .config_path = "/boot/grub2/grub.cfg" };
	struct vd_boot_vars env = {};
	char *k;

	vd_boot_vars_set(&env, "pick", "g");
	k = grub_pick("if [ -s $prefix/grubenv ]; then load_env; k=$pick; fi", &env, &host);
	assert_string_equal(k, "g");
	free(k);
	k = grub_pick("if [ -f (hd0,msdos1)/boot/grub2/grubenv ]; then k=f; fi", &env, &host);
	assert_string_equal(k, "f");
	free(k);
	k = grub_pick("if [ -s ${config_directory}/empty ]; then k=s; elif [ -e $prefix/empty ]; "
		      "then k=e; fi",
		      &env, &host);
	assert_string_equal(k, "e");
	free(k);
	k = grub_pick("if [ -d /boot/grub2 -a ! -f /boot/grub2 ]; then k=d; fi", &env, &host);
	assert_string_equal(k, "d");
	free(k);
	/* without load_env, grub never reads grubenv */
	k = grub_pick("k=$pick", &env, &host);
	assert_string_equal(k, "");
	free(k);
	vd_boot_vars_dispose(&env);
}

/* A guest disk as grub sees it: a GPT with a small stub filesystem on partition 1 (where the
 * config is read) and the system on partition 2. */
static const struct {
	const char *dev, *uuid, *label;
} disk_fs[] = {
	{ "hd0,gpt1", "5e1f-a0c2", "stub" },
	{ "hd0,gpt2", "2f3c6a4e-8b1d-4c2a-9e7f-1a2b3c4d5e6f", "root" },
};

static const struct {
	const char *dev, *path, *text;
} disk_files[] = {
	{ "hd0,gpt1", "/grub.cfg", "configfile /grub.cfg\n" },
	{ "hd0,gpt1", "/empty.cfg", "set gone=1\nexport shared\n" },
	{ "hd0,gpt1", "/self.cfg", "configfile /self.cfg\n" },
	{ "hd0,gpt2", "/boot/grub/grub.cfg",
	  "menuentry \"sys-$plain-$shared-$default\" { linux /boot/vmlinuz $config_directory\n}\n"
	  "menuentry second --id sec { linux /boot/vmlinuz-old\n}\n" },
	{ "hd0,gpt2", "/boot/vmlinuz", "kernel" },
	{ "hd0,gpt2", "/boot/grub/grubenv",
	  "# GRUB Environment Block\nsaved_entry=sec\nother=1\n######" },
	{ "hd0,gpt2", "/boot/grub/saved.cfg",
	  "if [ -s $prefix/grubenv ]; then\n load_env\nfi\nset default=\"${saved_entry}\"\n"
	  "menuentry first { linux /1\n}\nmenuentry second --id sec { linux /2\n}\n" },
};

static bool disk_has(const char *dev)
{
	for (size_t i = 0; i < ARRAY_SIZE(disk_fs); i++)
		if (!strcmp(disk_fs[i].dev, dev))
			return true;
	return false;
}

static int disk_read(void *userdata, const char *device, const char *path, char **ret_text,
		     size_t *ret_len)
{
	const char *dev = device ? device : "hd0,gpt1"; /* the config's */

	if (!disk_has(dev))
		return -ENODEV;
	for (size_t i = 0; i < ARRAY_SIZE(disk_files); i++)
		if (!strcmp(disk_files[i].dev, dev) && !strcmp(disk_files[i].path, path)) {
			*ret_text = strdup(disk_files[i].text);
			*ret_len = strlen(disk_files[i].text);
			return 0;
		}
	return -ENOENT;
}

static int disk_stat(void *userdata, const char *device, const char *path, uint64_t *ret_size,
		     bool *ret_dir)
{
	const char *dev = device ? device : "hd0,gpt1";
	char *text;
	int r;

	*ret_dir = false;
	*ret_size = 0;
	if (!disk_has(dev))
		return -ENODEV;
	if (!strcmp(path, "/") || (!strcmp(dev, "hd0,gpt2") && !strcmp(path, "/boot"))) {
		*ret_dir = true;
		return 0;
	}
	r = disk_read(userdata, device, path, &text, ret_size);
	if (r == 0)
		free(text);
	return r;
}

static int disk_search(void *userdata, char kind, const char *key, const char *hint,
		       char **ret_device)
{
	for (size_t i = 0; i < ARRAY_SIZE(disk_fs); i++) {
		bool match = false;

		if (hint && strcmp(hint, disk_fs[i].dev) &&
		    strcmp(hint, !strcmp(disk_fs[i].dev, "hd0,gpt1") ? "hd0,1" : "hd0,2"))
			continue;
		if (kind == 'u')
			match = !strcasecmp(disk_fs[i].uuid, key);
		else if (kind == 'l')
			match = !strcmp(disk_fs[i].label, key);
		else
			for (size_t k = 0; k < ARRAY_SIZE(disk_files); k++)
				match |= !strcmp(disk_files[k].dev, disk_fs[i].dev) &&
					 !strcmp(disk_files[k].path, key);
		if (match) {
			*ret_device = strdup(hint ? hint : disk_fs[i].dev);
			return 1;
		}
	}
	return 0;
}

static const struct vd_boot_grub_host disk_host = { .stat_file = disk_stat,
						    .read_file = disk_read,
						    .search = disk_search,
						    .config_path = "/grub.cfg",
						    .config_device = "hd0,gpt1" };

#define assert_disk_pick(want, conds)                                                              \
	do {                                                                                       \
		char *got_ = grub_pick(conds, NULL, &disk_host);                                   \
		assert_string_equal(got_, want);                                                   \
		free(got_);                                                                        \
	} while (0)

static void test_grub_configfile_replaces_the_menu_with_its_own(void **state)
{
	/* the stub: what it defines before configfile is gone, and so is everything after */
	static const char cfg[] =
		"set default=1\nset plain=outer\nexport shared\nshared=yes\n"
		"menuentry 'stub entry' { linux /stub\n}\n"
		"configfile /empty.cfg\n"     /* no entries: its context goes, the script goes on */
		"configfile (md/md-boot)/x\n" /* a device grub cannot open: nothing happens */
		"search.fs_uuid 2F3C6A4E-8B1D-4C2A-9E7F-1A2B3C4D5E6F root hd0,gpt2\n"
		"set prefix=($root)/boot/grub\n"
		"configfile $prefix/grub.cfg\n"
		"menuentry 'never' { linux /never\n}\n";
	struct vd_boot_menu m = {};

	assert_int_equal(vd_boot_grub_parse_full(cfg, strlen(cfg), NULL, &disk_host, &m, NULL, NULL),
			 0);
	assert_int_equal(m.n, 2);
	/* a new context: exported variables only (shared; root and prefix, which grub exports),
	 * so neither plain nor the stub's default=1 */
	assert_string_equal(m.entries[0].title, "sys--yes-");
	assert_string_equal(chosen(&m)->title, "sys--yes-");
	assert_string_equal(chosen(&m)->args, "(hd0,gpt2)/boot/grub");
	assert_string_equal(chosen(&m)->device, "hd0,gpt2");
	assert_string_equal(m.entries[1].id, "sec");
	vd_boot_menu_dispose(&m);

	/* an empty configfile'd menu: the script goes on without what the file set */
	assert_disk_pick("-", "configfile /empty.cfg\nk=$gone-");
	/* a file that configfiles itself stops at the bound on files read */
	assert_disk_pick("after", "configfile /self.cfg\nk=after");

	/* the handed-over config loads the grubenv beside it, where $prefix now points */
	{
		static const char stub[] = "search --fs-uuid --set=root 2f3c6a4e-8b1d-4c2a-9e7f-1a2b3c4d5e6f\n"
					   "set prefix=($root)/boot/grub\nconfigfile $prefix/saved.cfg\n";

		assert_int_equal(vd_boot_grub_parse_full(stub, strlen(stub), NULL, &disk_host, &m,
							 NULL, NULL),
				 0);
		assert_string_equal(chosen(&m)->kernel, "/2");
		vd_boot_menu_dispose(&m);
	}
}

static void test_grub_load_env_reads_prefix_grubenv_when_it_runs(void **state)
{
	/* $prefix/grubenv as load_env runs: none on the config's own partition */
	assert_disk_pick("x", "load_env\nk=x$saved_entry");
	assert_disk_pick("sec", "set prefix=(hd0,gpt2)/boot/grub\nload_env\nk=$saved_entry");
	/* -f FILE, and only the variables named */
	assert_disk_pick("-1", "load_env -f (hd0,gpt2)/boot/grub/grubenv other\n"
			       "k=$saved_entry-$other");
}

static void test_grub_search_sets_the_variable_grub_sets(void **state)
{
	struct vd_boot_menu m;

	assert_disk_pick("hd0,gpt2",
			 "search --no-floppy --fs-uuid --set=k 2F3C6A4E-8B1D-4C2A-9E7F-1A2B3C4D5E6F");
	assert_disk_pick("hd0,gpt2", "search --label root --set k");
	assert_disk_pick("hd0,gpt1", "search -l stub -s k");
	assert_disk_pick("hd0,gpt2", "search --file --set=k /boot/vmlinuz");
	assert_disk_pick("hd0,gpt2", "search --fs-uuid --set 5e1f-a0c2\nsearch.file /boot/vmlinuz k");
	assert_disk_pick("hd0,gpt1", "search --no-floppy --fs-uuid --set=root 5E1F-A0C2\nk=$root");
	/* a hint that holds the filesystem names it as written */
	assert_disk_pick("hd0,2", "search --fs-uuid --set=k --hint=hd0,2 --hint-efi=x "
				  "2f3c6a4e-8b1d-4c2a-9e7f-1a2b3c4d5e6f");
	assert_disk_pick("hd0,gpt2", "search.fs_label root k hd0,gpt2");
	/* Fedora's stub: a flag of its own grub, then the UUID */
	assert_disk_pick("hd0,gpt2", "search --no-floppy --root-dev-only --fs-uuid --set=k "
				     "2f3c6a4e-8b1d-4c2a-9e7f-1a2b3c4d5e6f");
	/* none found: the variable stays, the command fails */
	assert_disk_pick("none", "search.fs_uuid 0000-0000 k");
	assert_disk_pick("none", "search --label nonesuch --set=k");
	assert_disk_pick("b", "if search --file /nonesuch; then k=a; else k=b; fi");
	assert_disk_pick("hd0,gpt2", "if search -f -s r /boot/vmlinuz; then k=$r; fi");
	/* root's parentheses go (kern/main.c's write hook) */
	assert_disk_pick("hd0,gpt1", "set root=(hd0,gpt1)\nk=$root");

	/* the entry keeps $root as `linux` runs; an initrd on another device says which */
	{
		static const char cfg[] =
			"menuentry e {\n"
			" search --no-floppy --fs-uuid --set=root 2f3c6a4e-8b1d-4c2a-9e7f-1a2b3c4d5e6f\n"
			" linux /boot/vmlinuz root=/dev/xvda2\n"
			" set root=hd0,gpt1\n"
			" initrd /boot/initrd.img (hd0,gpt2)/boot/extra.img\n}\n";

		assert_int_equal(vd_boot_grub_parse_full(cfg, strlen(cfg), NULL, &disk_host, &m,
							 NULL, NULL),
				 0);
		assert_string_equal(m.entries[0].device, "hd0,gpt2");
		assert_string_equal(m.entries[0].kernel, "/boot/vmlinuz");
		assert_string_equal(m.entries[0].initrds[0], "(hd0,gpt1)/boot/initrd.img");
		assert_string_equal(m.entries[0].initrds[1], "(hd0,gpt2)/boot/extra.img");
		vd_boot_menu_dispose(&m);
	}
}

static void test_grub_file_tests_look_on_the_device_grub_would(void **state)
{
	/* a device grub cannot open: false, not the config's filesystem */
	assert_disk_pick("no", "if [ -e (md/md-boot) ]; then k=md; else k=no; fi");
	/* "(dev)" alone is its root directory */
	assert_disk_pick("d", "if [ -d (hd0,gpt2) -a -d (hd0,gpt2)/boot ]; then k=d; fi");
	/* a path without a device is on $root: the config's device first */
	assert_disk_pick("none", "if [ -f /boot/vmlinuz ]; then k=f; fi");
	assert_disk_pick("f", "set root=hd0,gpt2\nif [ -s /boot/vmlinuz ]; then k=f; fi");
	assert_disk_pick("f", "if [ -f ($root)/grub.cfg -a ! -e (hd0,gpt2)/grub.cfg ]; then k=f; fi");
	/* a $root this disk does not have (the generator's layout): the config's filesystem */
	assert_disk_pick("c", "set root='lvmid/x'\nif [ -f /grub.cfg ]; then k=c; fi");
}

static void test_grub_loops_run_as_grub_runs_them(void **state)
{
	struct vd_boot_menu m = {};
	static const char forever[] = "while true; do true; done\n";
	static const char open[] = "for x in a; do k=x\nmenuentry e { linux /e\n}\n";

	assert_pick("abc", "k=\nfor x in a b c; do k=\"${k}${x}\"; done");
	/* the words are expanded once, and split */
	assert_pick("-p-q-r", "set list=\"p q\"\nk=\nfor x in $list r\ndo\n k=\"$k-$x\"\ndone");
	assert_pick("ac", "k=\nfor x in a b c d; do\n if [ $x = b ]; then continue; fi\n"
			  " if [ $x = d ]; then break; fi\n k=\"$k$x\"\ndone");
	assert_pick("a1", "k=\nfor x in a b; do for y in 1 2; do\n"
			  " if [ $y = 2 ]; then break 2; fi; k=\"$k$x$y\"; done; done");
	assert_pick("xxx", "k=\nwhile [ \"$k\" != xxx ]; do k=\"x$k\"; done");
	assert_pick("yy", "k=\nuntil [ \"$k\" = yy ]; do k=\"${k}y\"; done");
	assert_pick("a", "k=a\nwhile false; do k=b; done");
	assert_pick("none", "if false; then for x in a; do k=x; done; fi");
	assert_pick("z", "if true; then for x in y z; do k=$x; done; fi");
	assert_pick("a", "function f {\n for x in a b; do k=$x; return; done\n k=after\n}\nf");
	/* break outside a loop does nothing */
	assert_pick("c", "break\nk=c");

	/* entries a loop defines: titles expanded then, bodies run at boot with the variables as
	 * the script left them, as grub stores an entry's body unexpanded */
	m = grub("for v in 6.1 6.2; do\n menuentry \"Linux $v\" { linux /vmlinuz-$v\n }\ndone\n",
		 NULL);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.entries[0].title, "Linux 6.1");
	assert_string_equal(m.entries[1].title, "Linux 6.2");
	assert_string_equal(m.entries[0].kernel, "/vmlinuz-6.2");
	vd_boot_menu_dispose(&m);

	/* a menuentry's arguments are its body's $1 (the title), $2, ... (menuentry.c's
	 * setparams), as Fedora 20's installer menu uses them inside a loop */
	m = grub("for BITS in 32 64; do\n"
		 " menuentry \"Install (${BITS}-bit)\" $BITS --class fedora { linux /ppc${2} t=$1 n=$#\n }\n"
		 "done\n",
		 NULL);
	assert_int_equal(m.n, 2);
	assert_string_equal(m.entries[1].kernel, "/ppc64");
	assert_string_equal(m.entries[1].args, "t=Install (64-bit) n=2");
	vd_boot_menu_dispose(&m);

	/* `while true` ends at the command cap, an unterminated loop is a syntax error */
	assert_int_equal(vd_boot_grub_parse(forever, strlen(forever), NULL, &m), -E2BIG);
	assert_int_equal(vd_boot_grub_parse(open, strlen(open), NULL, &m), -EBADMSG);
	{
		/* a loop re-reading 250 expansions of 8 KiB (2 MB a pass) ends at the bound on
		 * bytes read, not after 100000 passes */
		char *text = malloc(9000 + 250 * 3 + 64), *p = text;

		p += sprintf(p, "set a=");
		memset(p, 'x', 8000);
		p += 8000;
		p += sprintf(p, "\nwhile true; do x");
		for (int i = 0; i < 250; i++)
			p += sprintf(p, " $a");
		sprintf(p, "; done\n");
		assert_int_equal(vd_boot_grub_parse(text, strlen(text), NULL, &m), -E2BIG);
		free(text);
	}
}

static void test_grub_submenus_run_in_a_context_of_exported_variables(void **state)
{
	struct vd_boot_menu m = grub("set plain=p\nexport shared\nset shared=s1\n"
				     "submenu 'S' {\n"
				     " menuentry \"in-$plain-$shared\" { linux /k-$plain-$shared-$inner\n }\n"
				     " set inner=i\n set leaked=yes\n}\n"
				     "menuentry 'T' { linux /t-$leaked-$plain\n}\n"
				     "set shared=s2\n",
				     NULL);

	assert_int_equal(m.n, 2);
	/* the submenu's body runs when grub enters it: after the script, with the exported
	 * variables only; its entries run with what it set */
	assert_string_equal(m.entries[0].index_path, "0>0");
	assert_string_equal(m.entries[0].title, "S>in--s2");
	assert_string_equal(m.entries[0].kernel, "/k--s2-i");
	/* nothing leaks out of it; top-level entries see every variable of the top level */
	assert_string_equal(m.entries[1].kernel, "/t--p");
	assert_string_equal(chosen(&m)->title, "S>in--s2");
	vd_boot_menu_dispose(&m);

	/* entering a submenu for the default, grub sets its default to the rest of the path,
	 * then runs the body, whose own `set default` wins */
	m = grub("set default='Sub>a'\nmenuentry top { linux /top\n}\n"
		 "submenu Sub {\n menuentry a { linux /a\n }\n menuentry b --id bid { linux /b\n }\n"
		 " set default=bid\n}\n",
		 NULL);
	assert_string_equal(chosen(&m)->kernel, "/b");
	vd_boot_menu_dispose(&m);
	m = grub("set default=1\nmenuentry top { linux /top\n}\n"
		 "submenu Sub {\n menuentry a { linux /a\n }\n menuentry b { linux /b\n }\n"
		 " set default=1\n}\n",
		 NULL);
	assert_string_equal(chosen(&m)->kernel, "/b");
	vd_boot_menu_dispose(&m);
}

static void test_grub_unquoted_variables_split_into_arguments(void **state)
{
	struct vd_boot_vars env = {};
	struct vd_boot_menu m;

	vd_boot_vars_set(&env, "kernelopts", "root=/dev/xvda1  ro");
	m = grub("load_env\nmenuentry e { linux /k $kernelopts $undefined \"a b\" $kernelopts\n}\n",
		 &env);
	assert_string_equal(m.entries[0].args, "root=/dev/xvda1 ro \"a b\" root=/dev/xvda1 ro");
	vd_boot_menu_dispose(&m);
	vd_boot_vars_dispose(&env);
}

static void test_grub_blscfg_sees_the_variables_set_before_it(void **state)
{
	static const char text[] = "if [ -z \"${kernelopts}\" ]; then\n"
				   "  set kernelopts=\"root=/dev/xvda2 ro \"\nfi\n"
				   "blscfg\nset kernelopts=late\n";
	struct vd_boot_vars env = {}, bls = {};
	struct vd_boot_menu m = {};
	bool blscfg = false;

	assert_int_equal(vd_boot_grub_parse_full(text, strlen(text), NULL, NULL, &m, &bls, &blscfg),
			 0);
	assert_true(blscfg);
	assert_string_equal(vd_boot_vars_get(&bls, "kernelopts"), "root=/dev/xvda2 ro ");
	vd_boot_vars_dispose(&bls);
	vd_boot_menu_dispose(&m);

	/* grubenv's kernelopts, loaded first, wins over the fallback */
	vd_boot_vars_set(&env, "kernelopts", "root=/dev/xvda9");
	assert_int_equal(vd_boot_grub_parse_full("load_env\n", 9, &env, NULL, &m, NULL, NULL), 0);
	vd_boot_menu_dispose(&m);
	{
		char *t = NULL;

		assert_true(asprintf(&t, "load_env\n%s", text) > 0);
		assert_int_equal(vd_boot_grub_parse_full(t, strlen(t), &env, NULL, &m, &bls,
							 &blscfg),
				 0);
		free(t);
	}
	assert_string_equal(vd_boot_vars_get(&bls, "kernelopts"), "root=/dev/xvda9");
	vd_boot_vars_dispose(&bls);
	vd_boot_menu_dispose(&m);
	vd_boot_vars_dispose(&env);
}

static void test_bls_variables_expand_in_every_field_and_undefined_is_empty(void **state)
{
	struct vd_boot_vars env = {};
	struct vd_boot_entry e;

	vd_boot_vars_set(&env, "kernelopts", "root=/dev/xvda1 ro");
	vd_boot_vars_set(&env, "v", "6.1");
	e = bls("title Linux $v\nversion $v\nlinux /vmlinuz-$v\n"
		"initrd /initramfs-${v}.img $tuned_initrd\noptions $kernelopts $tuned_params\n",
		"x", &env);
	assert_string_equal(e.title, "Linux 6.1");
	assert_string_equal(e.version, "6.1");
	assert_string_equal(e.kernel, "/vmlinuz-6.1");
	assert_int_equal(e.n_initrds, 1);
	assert_string_equal(e.initrds[0], "/initramfs-6.1.img");
	assert_string_equal(e.args, "root=/dev/xvda1 ro");
	vd_boot_entry_dispose(&e);

	vd_boot_vars_set(&env, "tuned_initrd", "/tuned.img");
	e = bls("linux /k\ninitrd /i $tuned_initrd\n", "y", &env);
	assert_int_equal(e.n_initrds, 2);
	assert_string_equal(e.initrds[1], "/tuned.img");
	vd_boot_entry_dispose(&e);
	vd_boot_vars_dispose(&env);
}

static void test_extlinux_default_is_the_whole_rest_of_the_line(void **state)
{
	static const char spaces[] = "DEFAULT My Linux rescue\nLABEL My Linux\n KERNEL /a\n"
				     "LABEL My Linux rescue\n KERNEL /b\n";
	static const char with_opts[] = "DEFAULT two quiet\nLABEL one\n KERNEL /a\n"
					"LABEL two\n KERNEL /b\n";
	struct vd_boot_menu m = {};

	assert_int_equal(vd_boot_extlinux_parse(spaces, strlen(spaces), &m), 0);
	assert_string_equal(chosen(&m)->kernel, "/b");
	vd_boot_menu_dispose(&m);
	/* no label is the whole line: syslinux runs it as a command line, label first */
	assert_int_equal(vd_boot_extlinux_parse(with_opts, strlen(with_opts), &m), 0);
	assert_string_equal(chosen(&m)->kernel, "/b");
	vd_boot_menu_dispose(&m);
}

static void test_menulst_default_and_grub_device_prefixes(void **state)
{
	static const char text[] = "default=1\ntimeout 5\ntitle One\nroot (hd0,0)\nkernel /k1 a\n"
				   "title Two\nkernel --type=linux (hd0,0)/boot/k2 b c\n"
				   "initrd (hd0,0)/boot/i2\n";
	struct vd_boot_menu m = {};

	assert_int_equal(vd_boot_menulst_parse(text, strlen(text), &m), 0);
	assert_string_equal(chosen(&m)->kernel, "/boot/k2");
	assert_string_equal(chosen(&m)->args, "b c");
	assert_string_equal(chosen(&m)->initrds[0], "/boot/i2");
	vd_boot_menu_dispose(&m);
}

static void test_fstab_lines_escapes_and_device_names(void **state)
{
	static const char text[] = "# comment\n\nUUID=ab / ext4 defaults 0 1\n"
				   "LABEL=boot\\040disk /boot ext2 defaults 0 2\nbroken\n";
	struct vd_boot_fstab f = {};
	int p;

	assert_int_equal(vd_boot_fstab_parse(text, strlen(text), &f), 0);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.lines[1].spec, "LABEL=boot disk");
	assert_string_equal(f.lines[1].mountpoint, "/boot");
	vd_boot_fstab_dispose(&f);

	assert_int_equal(vd_boot_devname_partno("/dev/xvda2", &p), 0);
	assert_int_equal(p, 2);
	assert_int_equal(vd_boot_devname_partno("nvme0n1p3", &p), 0);
	assert_int_equal(p, 3);
	assert_int_equal(vd_boot_devname_partno("/dev/xvda", &p), 0);
	assert_int_equal(p, 0);
	assert_int_equal(vd_boot_devname_partno("mmcblk0", &p), 0);
	assert_int_equal(p, 0);
	assert_true(vd_boot_devname_partno("UUID=x", &p) < 0);
}

static void test_entry_spec_forms(void **state)
{
	struct vd_boot_entry_spec s = {};

	assert_int_equal(vd_boot_entry_spec_parse("xvda1:/boot/vmlinuz,/boot/initrd.img", &s), 0);
	assert_string_equal(s.dev, "xvda1");
	assert_string_equal(s.kernel, "/boot/vmlinuz");
	assert_string_equal(s.initrd, "/boot/initrd.img");
	vd_boot_entry_spec_dispose(&s);
	assert_int_equal(vd_boot_entry_spec_parse("/vmlinuz", &s), 0);
	assert_null(s.dev);
	assert_null(s.initrd);
	vd_boot_entry_spec_dispose(&s);
	assert_true(vd_boot_entry_spec_parse("vmlinuz", &s) < 0);
	assert_true(vd_boot_entry_spec_parse(":/k", &s) < 0);
	assert_true(vd_boot_entry_spec_parse("/k\n", &s) < 0);
}

static void test_output_simple0_is_what_libxl_parses(void **state)
{
	char *out;
	size_t len;
	static const char want[] = "kernel /d/k\0ramdisk /d/r\0args ro quiet\0";

	assert_int_equal(vd_boot_output_render(VD_BOOT_SIMPLE0, "/d/k", "/d/r", "ro quiet", &out,
					       &len),
			 0);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(out, want, len);
	free(out);
	assert_int_equal(vd_boot_output_render(VD_BOOT_SIMPLE0, "/d/k", NULL, "", &out, &len), 0);
	assert_int_equal(len, strlen("kernel /d/k") + 1);
	free(out);
}

static void test_output_refuses_separators_and_quotes_sxp(void **state)
{
	char *out;
	size_t len;

	assert_int_equal(vd_boot_output_render(VD_BOOT_SIMPLE, "/k", NULL, "a\nkernel /etc/x", &out,
					       &len),
			 -EILSEQ);
	assert_int_equal(vd_boot_output_render(VD_BOOT_SIMPLE0, "/k", "/r\x01", "a", &out, &len),
			 -EILSEQ);
	assert_int_equal(vd_boot_output_render(VD_BOOT_SXP, "/k", "/r", "a=\"b c\" d\\e", &out,
					       &len),
			 0);
	assert_string_equal(out, "linux (kernel /k)(ramdisk /r)(args \"a=\\\"b c\\\" d\\\\e\")\n");
	free(out);
	assert_int_equal(vd_boot_output_render(VD_BOOT_SXP, "/k)(ramdisk /etc/x", NULL, "", &out,
					       &len),
			 -EILSEQ);
}

static void test_sanitize_replaces_c0_del_c1_and_invalid_utf8(void **state)
{
	char s[] = "a\033[2Jb\177c\302\233d\233e\303\251f\ng\th";
	char t[] = "x\ny";
	size_t n = vd_boot_sanitize(s, strlen(s), false);

	/* ESC, DEL, U+009B (CSI) and a raw 0x9b go; é, a tab stay; newline only when asked */
	assert_string_equal(s, "a?[2Jb?c?d?e\303\251f?g\th");
	assert_int_equal(n, strlen(s));
	vd_boot_sanitize(t, strlen(t), true);
	assert_string_equal(t, "x\ny");
}

static void test_canonical_paths_never_rise_above_root(void **state)
{
	char out[64];

	assert_int_equal(vd_boot_path_canonical("/../../etc/./shadow", out, sizeof(out)), 0);
	assert_string_equal(out, "/etc/shadow");
	assert_int_equal(vd_boot_path_canonical("//boot//", out, sizeof(out)), 0);
	assert_string_equal(out, "/boot");
	assert_int_equal(vd_boot_path_canonical("..", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grub_default_index_picks_that_entry),
		cmocka_unit_test(test_grub_saved_entry_comes_from_grubenv),
		cmocka_unit_test(test_grub_submenus_have_index_title_and_id_paths),
		cmocka_unit_test(test_grub_quoting_escapes_and_several_initrds),
		cmocka_unit_test(test_grub_rejects_broken_input),
		cmocka_unit_test(test_grub_function_bodies_are_not_entries),
		cmocka_unit_test(test_grub_functions_run_as_grub_runs_them),
		cmocka_unit_test(test_grub_entry_bodies_run_alone_after_the_script),
		cmocka_unit_test(test_grub_recursion_is_bounded),
		cmocka_unit_test(test_grub_next_entry_wins_over_saved_entry),
		cmocka_unit_test(test_grub_source_runs_the_file_in_place),
		cmocka_unit_test(test_grub_default_bare_title_inside_a_submenu_matches_nothing),
		cmocka_unit_test(test_bls_newest_version_first_and_saved_entry_wins),
		cmocka_unit_test(test_extlinux_labels_append_initrd_and_menu_default),
		cmocka_unit_test(test_grub_conditions_take_the_branch_grub_takes),
		cmocka_unit_test(test_grub_entries_in_branches_not_taken_do_not_exist),
		cmocka_unit_test(test_grub_file_tests_ask_the_guest_and_load_env_applies_grubenv),
		cmocka_unit_test(test_grub_unquoted_variables_split_into_arguments),
		cmocka_unit_test(test_grub_configfile_replaces_the_menu_with_its_own),
		cmocka_unit_test(test_grub_search_sets_the_variable_grub_sets),
		cmocka_unit_test(test_grub_load_env_reads_prefix_grubenv_when_it_runs),
		cmocka_unit_test(test_grub_file_tests_look_on_the_device_grub_would),
		cmocka_unit_test(test_grub_loops_run_as_grub_runs_them),
		cmocka_unit_test(test_grub_submenus_run_in_a_context_of_exported_variables),
		cmocka_unit_test(test_grub_blscfg_sees_the_variables_set_before_it),
		cmocka_unit_test(test_bls_variables_expand_in_every_field_and_undefined_is_empty),
		cmocka_unit_test(test_extlinux_default_is_the_whole_rest_of_the_line),
		cmocka_unit_test(test_menulst_default_and_grub_device_prefixes),
		cmocka_unit_test(test_fstab_lines_escapes_and_device_names),
		cmocka_unit_test(test_entry_spec_forms),
		cmocka_unit_test(test_output_simple0_is_what_libxl_parses),
		cmocka_unit_test(test_output_refuses_separators_and_quotes_sxp),
		cmocka_unit_test(test_sanitize_replaces_c0_del_c1_and_invalid_utf8),
		cmocka_unit_test(test_canonical_paths_never_rise_above_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
