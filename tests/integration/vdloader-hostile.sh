#!/bin/sh
# Hostile guest images: each is a clear error, leaves nothing behind (no file in the output
# directory, an empty result file) and nothing appears outside the output directory.
. "$top_srcdir/tests/integration/boot/common.sh"

# New files anywhere under the test directory (vdloader runs with it as cwd) and anything of
# ours in the system temporary directory (other programs share /tmp, so only our names count).
snapshot() {
	find "$T" -newer "$T/.mark" ! -type d 2>/dev/null | grep -v "^$DIR/" | grep -v "^$IMG/"
	find "${TMPDIR:-/tmp}" -maxdepth 2 -newer "$T/.mark" \( -name 'boot_kernel*' -o \
		-name 'boot_ramdisk*' -o -name '*vdloader*' \) ! -path "$T" \
		! -name 'vdloader-test.*' ! -name 'vdloader-bench.*' 2>/dev/null
}
cd "$T"

hostile() { # name message-regexp [extra args]
	name=$1 msg=$2
	shift 2
	touch "$T/.mark"
	sleep 1
	libxl_run "$IMG/$name.img" "$@"
	if [ $rc -ne 1 ]; then
		fail "$name: exit $rc (want 1)"
	elif ! grep -Eq "$msg" "$T/stderr"; then
		fail "$name: message '$(cat "$T/stderr")' does not match /$msg/"
	elif [ "$(ndirfiles)" -ne 0 ]; then
		fail "$name: left $(ndirfiles) file(s) in the output directory"
	elif [ -s "$OUT" ]; then
		fail "$name: result file not empty"
	else
		pass "$name: $(head -c 160 "$T/stderr")"
	fi
	extra=$(snapshot | grep -v -e "$OUT" -e "$T/stdout" -e "$T/stderr" -e "$T/parsed" -e "$T/.mark" || true)
	[ -z "$extra" ] || fail "$name: files appeared outside the output directory: $extra"
}

hostile hostile-loop 'too many levels of symbolic links'
hostile hostile-dir 'it is a directory'
hostile hostile-newline 'control character'
hostile hostile-nul 'NUL byte'
hostile hostile-long 'longer than libxl accepts'
hostile hostile-fifo 'not a regular file'
hostile hostile-corrupt 'no filesystem libblkid recognises|superblock'
hostile hostile-garbled 'cannot open the filesystem'
hostile hostile-notext 'swap filesystem.*ext2/3/4 only'
hostile hostile-overlap 'extents overlap or go backwards'

# Guest text reaches the terminal and libxl's log with no control characters: a BLS title and
# file name carrying ESC, DEL and C1 (U+009B, CSI) sequences, in -l, -v and error output.
d=$T/ctl
mkdir -p "$d/loader/entries"
cp "$IMG/payload/kernel-a" "$d/vmlinuz-1"
esc=$(printf '\033]0;owned\007\302\233' )
printf 'title Evil %s2J\177\nversion 1\nlinux /vmlinuz-1\noptions root=/dev/xvda1\n' "$esc" \
	> "$d/loader/entries/evil$esc.conf"
printf 'title Bad %s\nversion 0\nlinux /missing%s\n' "$esc" "$esc" > "$d/loader/entries/bad.conf"
mke2fs -q -F -t ext4 -d "$d" "$T/ctl.img" 8M >/dev/null
"$VDLOADER" $SANDBOX_OPT -v -l "$T/ctl.img" > "$T/ctl.out" 2> "$T/ctl.err" || true
"$VDLOADER" $SANDBOX_OPT -v --dryrun --entry=bad "$T/ctl.img" >> "$T/ctl.out" 2>> "$T/ctl.err" || true
if grep -q Evil "$T/ctl.out" && ! LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]\\|\302[\200-\237]')" \
	"$T/ctl.out" "$T/ctl.err"; then
	pass "no control characters from the guest reach stdout or stderr"
else
	fail "control characters from the guest printed: $(od -c "$T/ctl.out" "$T/ctl.err" | head -20)"
fi

# A kernel over the configured cap: clear error, no file left.
printf 'boot_kernel_max = 1M\n' > "$T/small.conf"
hostile hostile-big 'over the 1.0M limit' --config="$T/small.conf"
printf 'boot_ramdisk_max = 1M\n' > "$T/small-rd.conf"
hostile bare-ext4 'initrd .* over the 1.0M limit' --config="$T/small-rd.conf"
printf 'boot_config_max = 1K\n' > "$T/small-cfg.conf"
hostile bare-ext4 'over the 1024-byte limit for configuration files' --config="$T/small-cfg.conf"

# Escapes: "../../../etc/shadow" and an absolute symlink resolve inside the guest, never dom0.
libxl_run "$IMG/hostile-escape.img"
if [ $rc -eq 0 ] && [ "$(cat "$(parsed kernel)")" = GUEST-FAKE-SHADOW ] &&
	[ "$(cat "$(parsed ramdisk)")" = GUEST-FAKE-SHADOW ]; then
	pass "symlink and .. escapes stay inside the guest filesystem"
else
	fail "escape: rc=$rc $(cat "$T/stderr")"
fi

# An --entry naming something missing, and a non-ext partition named with --root
hostile bare-ext4 'matches no entry' --entry=nonesuch
hostile gpt 'partition 1 holds no filesystem|holds no filesystem' --root=xvda1
finish
