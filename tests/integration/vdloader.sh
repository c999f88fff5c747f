#!/bin/sh
# vdloader invoked exactly as libxl invokes it, on every supported layout, its output parsed
# as libxl parses it; kernel and initrd bytes and the command line checked.
. "$top_srcdir/tests/integration/boot/common.sh"

check_image() { # image [extra args] ; compares with IMAGE.expect
	name=$1
	shift
	libxl_run "$IMG/$name.img" "$@"
	if [ $rc -ne 0 ]; then
		fail "$name: exit $rc: $(cat "$T/stderr")"
		return
	fi
	k=$(parsed kernel)
	r=$(parsed ramdisk)
	case $k in "$DIR"/*) ;; *) fail "$name: kernel $k outside $DIR"; return ;; esac
	cmp -s "$k" "$IMG/payload/$(expected "$name" kernel_src)" || fail "$name: kernel bytes differ"
	if [ -n "$(expected "$name" ramdisk_src)" ]; then
		case $r in "$DIR"/*) ;; *) fail "$name: ramdisk $r outside $DIR"; return ;; esac
		cmp -s "$r" "$IMG/payload/$(expected "$name" ramdisk_src)" ||
			fail "$name: ramdisk bytes differ"
	fi
	want_args=$(expected "$name" args)
	[ $# -gt 0 ] && case $1 in --args=*) want_args="$want_args ${1#--args=}" ;; esac
	[ "$(parsed args)" = "$want_args" ] ||
		fail "$name: args '$(parsed args)', expected '$want_args'"
	grep -q '^warning' "$T/parsed" && fail "$name: libxl would warn: $(cat "$T/parsed")"
	[ "$(ndirfiles)" -eq 2 ] || fail "$name: $(ndirfiles) files in the output directory"
	pass "$name ($(expected "$name" kernel))"
}

for name in bare-ext4 mbr-sepboot gpt gpt-classic gpt-stub bls bls-saved menulst vmlinuz; do
	check_image "$name"
done
check_image bare-ext4 --args="console=hvc0 xen_extra=1"

# No configuration: vdloader invents root= and ro, but never a key --args already gives.
libxl_run "$IMG/vmlinuz.img" --args="root=/dev/xvda1 rw console=hvc0"
[ $rc -eq 0 ] && [ "$(parsed args)" = "root=/dev/xvda1 rw console=hvc0" ] &&
	pass "--args=root=... rw: no second root=, no ro" || fail "invented args: '$(parsed args)'"

# Output is NUL-separated with nothing else in it; kernel first.
libxl_run "$IMG/bare-ext4.img"
[ "$(head -c 7 "$OUT")" = "kernel " ] || fail "simple0 output does not start with 'kernel '"
[ "$(tr -cd '\000' < "$OUT" | wc -c)" -eq 3 ] || fail "simple0 output should hold 3 items"
[ -z "$(tr -d '\000' < "$OUT" | tr -d '[:print:]')" ] || fail "control characters in output"

# Submenu entries by index path, title path and id path.
libxl_run "$IMG/bare-ext4.img" --entry='1>1'
cmp -s "$(parsed kernel)" "$IMG/payload/kernel-b" && cmp -s "$(parsed ramdisk)" "$IMG/payload/initrd-b" &&
	pass "--entry='1>1' picks the submenu's second kernel" || fail "--entry='1>1': $(cat "$T/stderr")"
libxl_run "$IMG/bare-ext4.img" --entry='Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-12-amd64'
cmp -s "$(parsed kernel)" "$IMG/payload/kernel-b" && pass "--entry by title path" ||
	fail "--entry title path: $(cat "$T/stderr")"
libxl_run "$IMG/bare-ext4.img" --entry='gnulinux-advanced-11111111-2222-3333-4444-555555555555>gnulinux-6.1.0-12-amd64-advanced-11111111-2222-3333-4444-555555555555'
cmp -s "$(parsed kernel)" "$IMG/payload/kernel-b" && pass "--entry by id path" ||
	fail "--entry id path: $(cat "$T/stderr")"
libxl_run "$IMG/bare-ext4.img" --entry=1
cmp -s "$(parsed kernel)" "$IMG/payload/kernel-a" && pass "--entry=1 (a submenu) boots its first entry" ||
	fail "--entry=1: $(cat "$T/stderr")"

# Several initrds are concatenated into one ramdisk file (libxl takes one).
libxl_run "$IMG/bare-ext4.img" --entry='1>2'
concat_payloads ucode initrd-b > "$T/want-ramdisk"
if [ $rc -eq 0 ] && cmp -s "$(parsed ramdisk)" "$T/want-ramdisk"; then
	pass "two initrds concatenated"
else
	fail "two initrds: rc=$rc $(cat "$T/stderr")"
fi
[ "$(parsed args)" = "root=UUID=11111111-2222-3333-4444-555555555555 ro single" ] ||
	fail "recovery args: $(parsed args)"

# domUloader's --entry=[dev:]kernel[,initrd], and symlinks crossing into a separate /boot.
libxl_run "$IMG/mbr-sepboot.img" --entry=xvda2:/vmlinuz,/initrd.img --root=/dev/xvda2
if [ $rc -eq 0 ] && cmp -s "$(parsed kernel)" "$IMG/payload/kernel-b" &&
	cmp -s "$(parsed ramdisk)" "$IMG/payload/initrd-b" && [ "$(parsed args)" = "root=/dev/xvda2" ]; then
	pass "--entry=xvda2:/vmlinuz,/initrd.img through the fstab /boot"
else
	fail "--entry dev form: rc=$rc $(cat "$T/stderr") args=$(parsed args)"
fi
libxl_run "$IMG/mbr-sepboot.img" --kernel=/vmlinuz --ramdisk=/initrd.img --args="root=/dev/xvda2 ro"
if [ $rc -eq 0 ] && cmp -s "$(parsed kernel)" "$IMG/payload/kernel-b" && [ "$(parsed args)" = "root=/dev/xvda2 ro" ]; then
	pass "--kernel/--ramdisk/--args (libxl's kernel=/ramdisk=/cmdline=)"
else
	fail "--kernel: rc=$rc $(cat "$T/stderr")"
fi
libxl_run "$IMG/bare-ext4.img" --kernel=/boot/vmlinuz-6.1.0-12-amd64
[ $rc -eq 0 ] && [ "$(ndirfiles)" -eq 1 ] && [ -z "$(parsed ramdisk)" ] &&
	pass "--kernel without ramdisk: no ramdisk item, no stray file" || fail "--kernel alone: $(cat "$T/stderr")"

# a ramdisk= without kernel= in xl.cfg: ignored with a warning, as pygrub does
libxl_run "$IMG/menulst.img" --ramdisk=/boot/nonesuch
[ $rc -eq 0 ] && grep -q 'ignored without --kernel' "$T/stderr" &&
	cmp -s "$(parsed ramdisk)" "$IMG/payload/initrd-a" && pass "--ramdisk alone is ignored" ||
	fail "--ramdisk alone: rc=$rc $(cat "$T/stderr")"

# an extent tree of depth 1 and a sparse file
libxl_run "$IMG/frag.img" --kernel=/boot/vmlinuz --ramdisk=/boot/initrd.img
[ $rc -eq 0 ] && cmp -s "$(parsed kernel)" "$IMG/payload/big-kernel" &&
	cmp -s "$(parsed ramdisk)" "$IMG/payload/sparse-initrd" &&
	pass "fragmented 40 MiB kernel and sparse initrd read back exactly" ||
	fail "frag: rc=$rc $(cat "$T/stderr")"

# a real block device (what /dev/xvdX is under libxl): a read-only loop device, as root
if [ "$(id -u)" -eq 0 ] && loop=$(losetup -f --show -r "$IMG/mbr-sepboot.img" 2>/dev/null); then
	libxl_run "$loop"
	losetup -d "$loop"
	[ $rc -eq 0 ] && cmp -s "$(parsed kernel)" "$IMG/payload/kernel-b" &&
		cmp -s "$(parsed ramdisk)" "$IMG/payload/initrd-b" &&
		pass "block device $loop (MBR, separate /boot)" || fail "block device: rc=$rc $(cat "$T/stderr")"
else
	echo "note: no loop device here (or not root): block-device case not run"
fi

# restricted mode: libxl adds --runas=<uid> --quiet
libxl_run "$IMG/gpt.img" --runas=65534 --quiet
[ $rc -eq 0 ] && [ ! -s "$T/stderr" ] && pass "--runas=65534 --quiet" || fail "--runas: $(cat "$T/stderr")"
libxl_run "$IMG/gpt.img" --runas=nobody
[ $rc -eq 0 ] && pass "--runas=nobody (a name)" || fail "--runas=nobody: $(cat "$T/stderr")"
libxl_run "$IMG/gpt.img" --runas=0
[ $rc -ne 0 ] && grep -q 'as root' "$T/stderr" && [ "$(ndirfiles)" -eq 0 ] &&
	pass "--runas=0 refused" || fail "--runas=0 accepted"

# sxp and simple formats (domUloader and pygrub callers)
"$VDLOADER" $SANDBOX_OPT --output-format=sxp --dryrun "$IMG/gpt.img" > "$T/sxp"
grep -qx 'linux (kernel /boot/vmlinuz-virt)(ramdisk /boot/initramfs-virt)(args "root=LABEL=gptroot modules=sd-mod,ext4 console=hvc0 rootfstype=ext4")' "$T/sxp" &&
	pass "sxp output" || fail "sxp output: $(cat "$T/sxp")"
"$VDLOADER" $SANDBOX_OPT --output-format=simple --dryrun "$IMG/menulst.img" > "$T/simple"
[ "$(sed -n 1p "$T/simple")" = "kernel /boot/vmlinuz-2.6.32-5-xen-amd64" ] && [ "$(wc -l < "$T/simple")" -eq 3 ] &&
	pass "simple output (--dryrun: guest paths, nothing copied)" || fail "simple output: $(cat "$T/simple")"

# stdout is never truncated nor written at offset 0: `vdloader -l disk >> log` appends
for mode in -l --dryrun --output=-; do
	printf 'earlier log line\n' > "$T/log"
	"$VDLOADER" $SANDBOX_OPT $mode --output-directory="$T" "$IMG/bls.img" >> "$T/log" 2> "$T/stderr"
	[ "$(sed -n 1p "$T/log")" = "earlier log line" ] && [ "$(wc -c < "$T/log")" -gt 30 ] &&
		pass "$mode >> log appends" || fail "$mode >> log: $(head -c 200 "$T/log")"
	rm -f "$T"/boot_kernel.* "$T"/boot_ramdisk.*
done

# -l lists; --dryrun copies nothing
libxl_run "$IMG/bls.img" -l
[ $rc -eq 0 ] && grep -q '^1: Fedora Linux (6.5.6-300' "$T/stdout" && [ "$(ndirfiles)" -eq 0 ] &&
	pass "-l lists BLS entries newest first (on stdout)" || fail "-l: $(cat "$T/stderr") $(cat "$T/stdout")"
# a menu a configfile took over says where it came from, and which partition grub reads from
libxl_run "$IMG/gpt-stub.img" -l
[ $rc -eq 0 ] && grep -q 'menu from configfile (hd0,gpt3)/grub/grub.cfg$' "$T/stdout" &&
	grep -q '^  kernel: (hd0,gpt3)/vmlinuz-6.1.0-17-amd64$' "$T/stdout" &&
	pass "-l names the configfile and the partition of the kernel" ||
	fail "-l of gpt-stub: $(cat "$T/stderr") $(cat "$T/stdout")"
libxl_run "$IMG/bls.img" --dryrun
[ $rc -eq 0 ] && [ "$(parsed kernel)" = /boot/vmlinuz-6.5.12-300.fc39.x86_64 ] && [ "$(ndirfiles)" -eq 0 ] &&
	pass "--dryrun" || fail "--dryrun: $(cat "$T/stderr")"

# Argument errors: unknown options, no disk, disk not last, missing output file
for bad in "--bogus" "-x" "--output-format=json"; do
	libxl_run "$IMG/gpt.img" "$bad"
	[ $rc -eq 1 ] && [ "$(ndirfiles)" -eq 0 ] && [ ! -s "$OUT" ] && pass "rejects $bad" || fail "accepted $bad"
done
set +e
"$VDLOADER" --output-format=simple0 > /dev/null 2> "$T/stderr"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q 'no disk' "$T/stderr" && pass "no disk: error" || fail "no disk: rc=$rc"
set +e
"$VDLOADER" $SANDBOX_OPT --output="$T/missing.out" --output-directory="$T" "$IMG/gpt.img" 2> "$T/stderr"; rc=$?
set -e
[ $rc -eq 1 ] && [ ! -e "$T/missing.out" ] && grep -q 'cannot open --output' "$T/stderr" &&
	pass "--output must exist (libxl precreates it)" || fail "missing --output: rc=$rc"

# /dev/xvdX may appear late: the open is retried for a bounded time, then a clear error.
start=$(date +%s)
set +e
"$VDLOADER" $SANDBOX_OPT --dryrun /dev/xvdz-vdloader-test-missing > /dev/null 2> "$T/stderr"; rc=$?
set -e
took=$(( $(date +%s) - start ))
[ $rc -eq 1 ] && [ $took -ge 4 ] && [ $took -le 10 ] && grep -q 'waited' "$T/stderr" &&
	pass "late /dev node: retried ${took}s, then a clear error" || fail "late node: rc=$rc took=${took}s"
# a block-device path is needed for the retry; use a symlink under /dev only as root
if [ "$(id -u)" -eq 0 ] && [ -w /dev ]; then
	link=/dev/vdloader-test-late.$$
	( sleep 1; ln -s "$IMG/gpt.img" "$link" ) &
	set +e
	"$VDLOADER" --dryrun "$link" > "$T/late.out" 2> "$T/stderr"; rc=$?
	set -e
	rm -f "$link"
	[ $rc -eq 0 ] && grep -q vmlinuz-virt "$T/late.out" && pass "a disk node appearing late is found" ||
		fail "late node: rc=$rc $(cat "$T/stderr")"
fi
wait
finish
