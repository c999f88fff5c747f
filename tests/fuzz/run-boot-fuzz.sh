#!/bin/sh
# Builds vdloader's libFuzzer targets with clang and runs each for a few seconds on its seed
# corpus (FUZZ_SECONDS, default 3). Part of `make check`; `make fuzz` runs each for 10 minutes.
# The peak RSS of each run is printed (libFuzzer's last "rss:" figure).
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
SECONDS_PER_TARGET=${FUZZ_SECONDS:-3}
CLANG=${CLANG:-clang}
command -v "$CLANG" >/dev/null 2>&1 || { echo "SKIP: clang is not installed"; exit 77; }
PATH=$PATH:/sbin:/usr/sbin
out=$top_builddir/tests/fuzz/boot
mkdir -p "$out"
src=$top_srcdir
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
	"$CLANG" -x c -fsanitize=fuzzer,address,undefined -o "$out/probe" - 2>/dev/null; then
	echo "SKIP: $CLANG cannot link -fsanitize=fuzzer,address,undefined (install libclang-rt-14-dev)"
	exit 77
fi
CFLAGS="-g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-I$src/plugin -I$src/tests/fuzz -include $top_builddir/config.h"
COMMON="$src/plugin/boot/boot_menu.c $src/plugin/base/error.c $src/plugin/base/util.c"
CONFIG="$COMMON $src/plugin/boot/boot_grub.c $src/plugin/boot/boot_bls.c $src/plugin/boot/boot_extlinux.c
	$src/plugin/boot/boot_menulst.c $src/plugin/boot/boot_fstab.c $src/plugin/boot/boot_entry.c
	$src/plugin/boot/boot_output.c $src/plugin/boot/boot_path.c $src/plugin/boot/boot_fs.c
	$src/plugin/boot/boot_part.c $src/plugin/boot/boot_disk.c"
IMAGE="$CONFIG $src/plugin/boot/boot_find.c"
LIBS="$(pkg-config --libs ext2fs blkid) -lcom_err"

# a tiny partitioned image as the image fuzzer's seed
corpus_image=$out/corpus-image
if [ ! -d "$corpus_image" ]; then
	mkdir -p "$corpus_image" "$out/tree/boot/grub" "$out/tree/etc"
	printf 'menuentry x {\n linux /boot/k a=1\n initrd /boot/i\n}\n' > "$out/tree/boot/grub/grub.cfg"
	echo kernel > "$out/tree/boot/k"
	echo initrd > "$out/tree/boot/i"
	ln -sf boot/k "$out/tree/vmlinuz"
	echo '/dev/xvda1 / ext2 defaults 0 1' > "$out/tree/etc/fstab"
	mke2fs -q -F -t ext2 -b 1024 -N 32 -d "$out/tree" "$corpus_image/bare-ext2" 64k >/dev/null
	# the same filesystem behind an MBR and behind a GPT
	for label in dos gpt; do
		img=$corpus_image/$label-ext2
		truncate -s 160k "$img"
		printf 'label: %s\nstart=34, size=128\n' "$label" | sfdisk -q "$img" >/dev/null 2>&1 || continue
		dd if="$corpus_image/bare-ext2" of="$img" bs=512 seek=34 conv=notrunc status=none
	done
fi

status=0
for target in grub bls extlinux menulst fstab entry image; do
	bin=$out/fuzz_boot_$target
	case $target in
	image) sources=$IMAGE ;;
	*) sources=$CONFIG ;;
	esac
	# shellcheck disable=SC2086
	if [ ! -x "$bin" ] || [ -n "$(find $sources "$src/tests/fuzz/fuzz_boot_$target.c" \
		"$src/tests/fuzz/boot_fuzz_common.h" -newer "$bin" 2>/dev/null)" ]; then
		"$CLANG" $CFLAGS -o "$bin" "$src/tests/fuzz/fuzz_boot_$target.c" $sources $LIBS
	fi
	corpus=$src/tests/fuzz/corpus/boot_$target
	[ $target = image ] && corpus=$corpus_image
	work=$out/work-$target
	rm -rf "$work"
	mkdir -p "$work"
	cp "$corpus"/* "$work"/
	max_len=65536
	[ $target = image ] && max_len=262144
	# ASan keeps 256 MB of freed chunks in quarantine by default, and the parsers free many
	# small strings per input: replaying a 10-minute grub corpus peaked at 869 MB with it, 234 MB
	# with a 16 MB quarantine and 70 MB without. So the 1 GB limit measures the parsers, the
	# quarantine is 32 MB (use-after-free of recent frees is still caught), and any single
	# allocation over 64 MB (4x the parsers' largest cap) fails the run.
	if ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=32" \
		"$bin" -max_total_time="$SECONDS_PER_TARGET" -max_len=$max_len -rss_limit_mb=1024 \
		-malloc_limit_mb=64 \
		-timeout=10 -artifact_prefix="$out/crash-$target-" "$work" > "$out/$target.log" 2>&1; then
		echo "ok: fuzz_boot_$target: $(grep -o 'Done [0-9]* runs' "$out/$target.log" || echo ran)," \
			"peak $(grep -o 'rss: [0-9]*Mb' "$out/$target.log" | tail -1 | cut -c6-)"
	else
		echo "FAIL: fuzz_boot_$target (see $out/$target.log, artifacts $out/crash-$target-*)"
		tail -30 "$out/$target.log"
		status=1
	fi
done
exit $status
