#!/bin/sh
# Real boot configurations (tests/integration/boot/configs, sources in its README): vdloader must
# boot what their own bootloader boots.
. "$top_srcdir/tests/integration/boot/common.sh"
CONFIGS=$top_srcdir/tests/integration/boot/configs
expect() { sed -n "s/^$2=//p" "$1/expect"; }

for case_dir in "$CONFIGS"/*/; do
	case_dir=${case_dir%/}
	name=$(basename "$case_dir")
	src=$case_dir
	same=$(expect "$case_dir" same)
	[ -n "$same" ] && src=$CONFIGS/$same
	tree=$T/tree-$name
	rm -rf "$tree"
	mkdir -p "$tree"
	cp -R "$src/tree/." "$tree/"
	chmod -R u+w "$tree" # a distcheck source tree is read-only
	fstab=$(expect "$case_dir" fstab)
	if [ -n "$fstab" ]; then
		mkdir -p "$tree/etc"
		printf '%s\n' "$fstab" > "$tree/etc/fstab"
	fi
	grubenv=$(expect "$case_dir" grubenv)
	if [ -n "$grubenv" ] && [ -f "$case_dir/grubenv" ]; then
		{ printf '# GRUB Environment Block\n'; cat "$case_dir/grubenv"; } > "$T/env"
		{ cat "$T/env"; head -c $((1024 - $(stat -c %s "$T/env"))) /dev/zero | tr '\0' '#'; } \
			> "$tree$grubenv"
	fi
	while read -r path payload; do # not a pipe: a failure here stops the test (set -e)
		mkdir -p "$tree$(dirname "$path")"
		cp "$IMG/payload/$payload" "$tree$path"
	done <<EOF
$(expect "$case_dir" file)
EOF
	# empty files whose existence the configuration tests (-e, -f)
	for path in $(expect "$case_dir" empty); do
		mkdir -p "$tree$(dirname "$path")"
		: > "$tree$path"
	done
	# files kept beside expect under short names (tar's 99-character paths), placed at
	# their long guest paths: the shared tree's, then this case's own
	for from in "$src" "$case_dir"; do
		while read -r path short; do
			[ -n "$path" ] || continue
			mkdir -p "$tree$(dirname "$path")"
			cp "$from/$short" "$tree$path"
		done <<EOF
$(expect "$from" place)
EOF
		[ "$src" != "$case_dir" ] || break
	done
	layout=$(expect "$case_dir" layout)
	if [ -z "$layout" ]; then
		uuid=$(expect "$case_dir" uuid)
		mke2fs -q -F -t ext4 -d "$tree" ${uuid:+-U "$uuid"} "$T/$name.img" 24M >/dev/null
	else
		# a partitioned disk: tree/pK/ is partition K's filesystem (paths in file=, empty=
		# and place= start with pK/), uuidK= and labelK= its identity; partitions without a
		# tree stay unformatted (a filesystem vdloader does not read)
		parts=$(expect "$case_dir" parts)
		bootable=$(expect "$case_dir" bootable)
		rm -f "$T/$name.img"
		truncate -s $(( (4096 + parts * 32768) * 512 )) "$T/$name.img"
		k=1
		table="label: $layout"
		while [ "$k" -le "$parts" ]; do
			start=$((2048 + (k - 1) * 32768))
			if [ "$layout" = gpt ]; then
				line="start=$start, size=32768, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4"
				[ "$k" != "$bootable" ] || line="$line, attrs=\"LegacyBIOSBootable\""
			else
				line="start=$start, size=32768, type=83"
				[ "$k" != "$bootable" ] || line="$line, bootable"
			fi
			table="$table
$line"
			k=$((k + 1))
		done
		printf '%s\n' "$table" | sfdisk -q "$T/$name.img" >/dev/null 2>&1
		k=1
		while [ "$k" -le "$parts" ]; do
			if [ -d "$tree/p$k" ]; then
				uuid=$(expect "$case_dir" "uuid$k")
				label=$(expect "$case_dir" "label$k")
				mke2fs -q -F -t ext4 -d "$tree/p$k" ${uuid:+-U "$uuid"} \
					${label:+-L "$label"} "$T/$name-p$k.fs" 16M >/dev/null
				dd if="$T/$name-p$k.fs" of="$T/$name.img" bs=512 \
					seek=$((2048 + (k - 1) * 32768)) conv=notrunc status=none
				rm -f "$T/$name-p$k.fs"
			fi
			k=$((k + 1))
		done
	fi

	before=$failures
	libxl_run "$T/$name.img"
	if [ $rc -ne 0 ]; then
		fail "$name: exit $rc: $(cat "$T/stderr")"
		continue
	fi
	cmp -s "$(parsed kernel)" "$IMG/payload/$(expect "$case_dir" kernel_src)" ||
		fail "$name: not the kernel $(expect "$case_dir" kernel_src) ($(cat "$T/stderr"))"
	if [ -n "$(expect "$case_dir" ramdisk_src)" ]; then
		cmp -s "$(parsed ramdisk)" "$IMG/payload/$(expect "$case_dir" ramdisk_src)" ||
			fail "$name: not the ramdisk $(expect "$case_dir" ramdisk_src)"
	else
		[ -z "$(parsed ramdisk)" ] || fail "$name: a ramdisk, where the entry has none"
	fi
	[ "$(parsed args)" = "$(expect "$case_dir" args)" ] ||
		fail "$name: args '$(parsed args)', expected '$(expect "$case_dir" args)'"
	[ $failures -ne "$before" ] || pass "$name"
done
finish
