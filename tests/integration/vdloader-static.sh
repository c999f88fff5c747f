#!/bin/sh
# The static vdloader (configure.ac: VDLOADER_STATIC=full) is what libxl runs on every guest
# boot: no dynamic section, none of the pool's database or lock code (SQLite, sanlock), its code
# laid out by use (plugin/vdloader.ld), and no NSS on the common path. --vd=ID goes through
# vdloader-vd beside it (tests/integration/vdloader-vd.sh runs --vd through it); without it,
# --vd fails with one line naming it.
. "$top_srcdir/tests/integration/boot/common.sh"
if [ "${VDLOADER_STATIC:-}" != full ]; then
	echo "SKIP: this build's vdloader is not fully static" \
		"(VDLOADER_STATIC=${VDLOADER_STATIC:-unset}: no libc.a, or --disable-static-vdloader)"
	exit 77
fi
for tool in readelf nm; do
	command -v "$tool" > /dev/null 2>&1 || { echo "SKIP: $tool not installed (binutils)"; exit 77; }
done
HELPER=$top_builddir/plugin/vdloader-vd

readelf -lW "$VDLOADER" > "$T/segments"
if grep -q 'INTERP\|DYNAMIC' "$T/segments"; then
	fail "vdloader has a dynamic loader or section: $(grep 'INTERP\|DYNAMIC' "$T/segments")"
else
	pass "vdloader is fully static"
fi
nm "$VDLOADER" > "$T/syms"
[ -s "$T/syms" ] || fail "vdloader has no symbol table to check (stripped?)"
if grep -E ' (sqlite3_|sanlock_|vd_db_|vd_mdlock_|vd_vdisk_|vd_boot_vd_)' "$T/syms" \
	> "$T/pool"; then
	fail "the static vdloader links the pool's database or lock code: $(head -3 "$T/pool")"
else
	pass "no SQLite, sanlock or pool database code in vdloader"
fi
if readelf -dW "$HELPER" | grep -q 'NEEDED.*libsanlock_client' &&
	nm "$HELPER" | grep -q ' vd_boot_vd_runs$'; then
	pass "vdloader-vd links libsanlock_client and reads the pool"
else
	fail "vdloader-vd does not link libsanlock_client or lacks the pool reader"
fi
size=$(readelf -SW "$VDLOADER" |
	sed -n 's/.*\.text\.vdloader_hot *PROGBITS *[0-9a-f]* [0-9a-f]* \([0-9a-f]*\) .*/\1/p')
if [ "${VDLOADER_LAYOUT:-}" != yes ]; then
	echo "note: the linker took no plugin/vdloader.ld (configure said why): layout unchecked"
elif [ -n "$size" ] && [ $((0x$size)) -gt 65536 ]; then
	pass "vdloader's code is laid out by use ($((0x$size)) bytes of it grouped)"
else
	fail "vdloader.ld laid out nothing (.text.vdloader_hot: '${size}')"
fi

# the common path: a disk, the default user; no nsswitch.conf, no NSS module, no second libc
libxl_run_traced() {
	rm -rf "$T/d" && mkdir -m 0700 "$T/d" && : > "$T/out"
	strace -f -qq -e trace=open,openat -o "$T/strace" "$VDLOADER" $SANDBOX_OPT \
		--output="$T/out" --output-format=simple0 --output-directory="$T/d" "$@"
}
if ! command -v strace > /dev/null 2>&1; then
	echo "note: strace not installed: the NSS check is skipped (tests/install-deps installs it)"
elif libxl_run_traced "$IMG/bare-ext4.img" 2> "$T/stderr"; then
	if grep -E 'nsswitch|libnss|libc\.so' "$T/strace" > "$T/nss"; then
		fail "the static vdloader went to NSS for the default user: $(head -3 "$T/nss")"
	else
		pass "the default user comes from /etc/passwd, without NSS"
	fi
else
	fail "vdloader under strace failed: $(cat "$T/stderr")"
fi

# --vd without vdloader-vd beside it: one line naming it, exit 1
mkdir "$T/alone"
cp "$VDLOADER" "$T/alone/vdloader"
set +e
"$T/alone/vdloader" $SANDBOX_OPT --dryrun --vd=1 > "$T/alone.out" 2> "$T/alone.err"
rc=$?
set -e
if [ $rc -eq 1 ] && [ "$(wc -l < "$T/alone.err")" -eq 1 ] &&
	grep -q "$T/alone/vdloader-vd" "$T/alone.err"; then
	pass "--vd without vdloader-vd: $(cat "$T/alone.err")"
else
	fail "--vd without vdloader-vd: rc=$rc, said: $(cat "$T/alone.err")"
fi
# and the disk path does not need it
rm -rf "$T/d" && mkdir -m 0700 "$T/d" && : > "$T/out"
"$T/alone/vdloader" $SANDBOX_OPT --output="$T/out" --output-format=simple0 \
	--output-directory="$T/d" "$IMG/bare-ext4.img" 2> "$T/stderr" &&
	pass "a disk boots without vdloader-vd" || fail "a disk without vdloader-vd: $(cat "$T/stderr")"
finish
