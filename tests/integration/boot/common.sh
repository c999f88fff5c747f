# Shared by the vdloader tests: tools, a scratch dir, images, and a libxl-style invocation.
# shellcheck shell=sh
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
VDLOADER=$top_builddir/plugin/vdloader
LIBXL_PARSE=$top_builddir/tests/integration/boot/libxl_parse
for tool in mke2fs sfdisk mkswap; do
	command -v "$tool" >/dev/null 2>&1 || PATH=$PATH:/sbin:/usr/sbin
	command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not installed (e2fsprogs, fdisk, util-linux)"; exit 77; }
done
# The sandbox needs root (namespaces, chroot, setresuid). As a user, the tests use the
# documented test-only mode, which keeps no_new_privs, rlimits and seccomp.
SANDBOX_OPT=
DIR_MODE=0600 # as libxl makes it (root needs no x bit)
if [ "$(id -u)" -ne 0 ]; then
	DIR_MODE=0700
	echo "note: not root: running vdloader with --unprivileged-sandbox"
	SANDBOX_OPT=--unprivileged-sandbox
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/vdloader-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
IMG=$T/img
sh "$top_srcdir/tests/integration/boot/mkimages.sh" "$IMG"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# libxl_run IMAGE [bootloader args...]: runs vdloader exactly as libxl does (precreated output
# file, output directory 0600), parses the result as libxl does into $T/parsed; sets rc.
DOMID=7
libxl_run() {
	img=$1
	shift
	OUT=$T/bootloader.$DOMID.out
	DIR=$T/bootloader.$DOMID.d
	rm -rf "$DIR" "$OUT"
	mkdir -m "$DIR_MODE" "$DIR"
	: > "$OUT"
	chmod 0600 "$OUT"
	set +e
	"$VDLOADER" $SANDBOX_OPT "$@" --output="$OUT" --output-format=simple0 \
		--output-directory="$DIR" "$img" > "$T/stdout" 2> "$T/stderr"
	rc=$?
	set -e
	"$LIBXL_PARSE" "$OUT" > "$T/parsed"
}
parsed() { sed -n "s/^$1=//p" "$T/parsed"; }
expected() { sed -n "s/^$2=//p" "$IMG/$1.expect"; }
ndirfiles() { find "$DIR" -mindepth 1 | wc -l; }
# concatenation of payloads as grub would load them (each but the last padded to 4 bytes)
concat_payloads() {
	first=1
	for p in "$@"; do
		if [ $first -eq 0 ]; then
			pad=$(( (4 - prev % 4) % 4 ))
			[ $pad -eq 0 ] || head -c $pad /dev/zero
		fi
		cat "$IMG/payload/$p"
		prev=$(stat -c %s "$IMG/payload/$p")
		first=0
	done
}
finish() {
	if [ "$failures" -ne 0 ]; then
		echo "$failures failure(s)"
		exit 1
	fi
	exit 0
}
