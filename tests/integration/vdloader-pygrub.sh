#!/bin/sh
# Side by side with the real pygrub from Debian's xen-utils-4.17 (unpacked, not installed):
# on every layout pygrub supports, the same kernel and initrd bytes and the same command line
# (compared with runs of blanks folded: grub joins arguments with one space, pygrub keeps the
# config's spacing).
. "$top_srcdir/tests/integration/boot/common.sh"
PYGRUB_ROOT=$(sh "$top_srcdir/tests/integration/boot/get-pygrub.sh") || exit 77
PYGRUB=$PYGRUB_ROOT/usr/lib/xen-4.17/bin/pygrub
export XEN_FSIMAGE_FSDIR=$PYGRUB_ROOT/usr/lib/xen-4.17/lib/x86_64-linux-gnu/xenfsimage
export LD_LIBRARY_PATH=$PYGRUB_ROOT/usr/lib/xen-4.17/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

fold() { tr -s ' \t' '  ' | sed 's/^ //; s/ $//'; }

for name in bare-ext4 mbr-sepboot gpt-classic menulst; do
	PD=$T/pygrub.d
	rm -rf "$PD"
	mkdir -m 0700 "$PD"
	: > "$T/pygrub.out"
	if ! python3 "$PYGRUB" -q --output-format=simple0 --output="$T/pygrub.out" \
		--output-directory="$PD" "$IMG/$name.img" > "$T/pygrub.log" 2>&1; then
		fail "$name: pygrub failed: $(tail -3 "$T/pygrub.log")"
		continue
	fi
	"$LIBXL_PARSE" "$T/pygrub.out" > "$T/pygrub.parsed"
	libxl_run "$IMG/$name.img"
	[ $rc -eq 0 ] || { fail "$name: vdloader failed: $(cat "$T/stderr")"; continue; }
	pk=$(sed -n 's/^kernel=//p' "$T/pygrub.parsed")
	pr=$(sed -n 's/^ramdisk=//p' "$T/pygrub.parsed")
	pa=$(sed -n 's/^args=//p' "$T/pygrub.parsed" | fold)
	va=$(parsed args | fold)
	if ! cmp -s "$pk" "$(parsed kernel)"; then
		fail "$name: kernel bytes differ from pygrub's"
	elif [ -n "$pr" ] && ! cmp -s "$pr" "$(parsed ramdisk)"; then
		fail "$name: ramdisk bytes differ from pygrub's"
	elif [ "$pa" != "$va" ]; then
		fail "$name: args differ: pygrub '$pa' vdloader '$va'"
	else
		pass "$name: same kernel ($(stat -c %s "$pk") B), ramdisk and args as pygrub"
	fi
done
finish
