#!/bin/sh
# vdloader against pygrub (Debian xen-utils-4.17, unpacked) and against a plain dd of the same
# bytes, on one image holding a 12 MiB kernel and a 60 MiB initrd. Prints wall-time and peak-RSS
# ratios. Targets: >= 5x faster than pygrub, <= 1/5 of its RSS, <= 1.5x the dd.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
RUNS=${RUNS:-7}
VDLOADER=$top_builddir/plugin/vdloader
T=$(mktemp -d "${TMPDIR:-/tmp}/vdloader-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
PATH=$PATH:/sbin:/usr/sbin

mkdir -p "$T/src/boot/grub" "$T/src/etc"
head -c $((12 * 1024 * 1024)) /dev/urandom > "$T/src/boot/vmlinuz-6.1.0-13-amd64"
head -c $((60 * 1024 * 1024)) /dev/urandom > "$T/src/boot/initrd.img-6.1.0-13-amd64"
echo "/dev/xvda1 / ext4 defaults 0 1" > "$T/src/etc/fstab"
cat > "$T/src/boot/grub/grub.cfg" <<'CFG'
set default="0"
menuentry 'Debian GNU/Linux' {
	linux	/boot/vmlinuz-6.1.0-13-amd64 root=/dev/xvda1 ro console=hvc0 quiet
	initrd	/boot/initrd.img-6.1.0-13-amd64
}
CFG
mke2fs -q -F -t ext4 -d "$T/src" "$T/disk.img" 100M
rm -rf "$T/src"

SANDBOX_OPT=
[ "$(id -u)" -eq 0 ] || SANDBOX_OPT=--unprivileged-sandbox

# A tiny C launcher measures, so its own footprint (not python's) is what wait4 folds into the
# child's peak RSS (Linux keeps the high-water mark across exec).
cat > "$T/measure.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}
int main(int argc, char **argv)
{
	int runs = atoi(argv[1]);
	double walls[64];
	long maxrss = 0;
	for (int i = 0; i < runs && i < 64; i++) {
		struct timespec t0, t1;
		struct rusage ru;
		int status;
		pid_t pid;
		if (system(argv[2]) != 0)
			return 2;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		pid = fork();
		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);
			dup2(fd, 1);
			dup2(fd, 2);
			execvp(argv[3], argv + 3);
			_exit(127);
		}
		wait4(pid, &status, 0, &ru);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (status != 0) {
			fprintf(stderr, "command failed: %s\n", argv[3]);
			return 1;
		}
		walls[i] = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (ru.ru_maxrss > maxrss)
			maxrss = ru.ru_maxrss;
	}
	qsort(walls, runs, sizeof(double), cmp);
	printf("%.4f %ld\n", walls[runs / 2], maxrss);
	return 0;
}
C
${CC:-cc} -O2 -o "$T/measure" "$T/measure.c"

prep='rm -rf '"$T"'/d; mkdir -m 0700 '"$T"'/d; : > '"$T"'/out'
# warm the page cache once so every tool reads from memory
cat "$T/disk.img" > /dev/null

set -- $("$T/measure" "$RUNS" "$prep" "$VDLOADER" $SANDBOX_OPT --output="$T/out" \
	--output-format=simple0 --output-directory="$T/d" "$T/disk.img")
vd_wall=$1 vd_rss=$2
ls "$T/d" | grep -q boot_kernel || { echo "vdloader produced no kernel"; exit 1; }

# dd of the same bytes: 12 MiB and 60 MiB read from the image, written into the output dir
set -- $("$T/measure" "$RUNS" "$prep" sh -c \
	"dd if='$T/disk.img' of='$T/d/k' bs=1M count=12 status=none && \
	 dd if='$T/disk.img' of='$T/d/r' bs=1M skip=12 count=60 status=none")
dd_wall=$1 dd_rss=$2

echo "image: 12 MiB kernel + 60 MiB initrd on ext4; median of $RUNS runs, warm page cache"
printf '%-10s %10s %12s\n' tool wall_s peak_rss_KiB
printf '%-10s %10s %12s\n' vdloader "$vd_wall" "$vd_rss"
printf '%-10s %10s %12s\n' dd "$dd_wall" "$dd_rss"

if PYGRUB_ROOT=$(sh "$top_srcdir/tests/integration/boot/get-pygrub.sh" 2>"$T/why"); then
	PYGRUB=$PYGRUB_ROOT/usr/lib/xen-4.17/bin/pygrub
	export XEN_FSIMAGE_FSDIR=$PYGRUB_ROOT/usr/lib/xen-4.17/lib/x86_64-linux-gnu/xenfsimage
	export LD_LIBRARY_PATH=$PYGRUB_ROOT/usr/lib/xen-4.17/lib/x86_64-linux-gnu
	set -- $("$T/measure" "$RUNS" "$prep" python3 "$PYGRUB" -q \
		--output="$T/out" --output-format=simple0 --output-directory="$T/d" "$T/disk.img")
	py_wall=$1 py_rss=$2
	printf '%-10s %10s %12s\n' pygrub "$py_wall" "$py_rss"
	# deprivileged pygrub (XSA-508: the only security-supported way to run it), as root only
	if [ "$(id -u)" -eq 0 ]; then
		chmod o+r "$T/disk.img" # "the disk image must be readable by the restricted user"
		set -- $("$T/measure" "$RUNS" "$prep" python3 "$PYGRUB" -q --runas=65534 \
			--output="$T/out" --output-format=simple0 --output-directory="$T/d" "$T/disk.img") ||
			set -- - -
		printf '%-10s %10s %12s\n' pygrub-ru "$1" "$2"
		[ "$1" = - ] || echo "(pygrub-ru = pygrub --runas=65534; vdloader is always sandboxed: $(python3 -c "import sys; print('%.1fx faster' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$vd_wall"))"
	fi
	python3 - "$vd_wall" "$vd_rss" "$py_wall" "$py_rss" "$dd_wall" <<'PY'
import sys
vw, vr, pw, pr, dw = map(float, sys.argv[1:])
print("speed-up vs pygrub: %.1fx (target >= 5x)  %s" % (pw / vw, "PASS" if pw / vw >= 5 else "MISS"))
print("RSS vs pygrub:      1/%.1f (target <= 1/5)  %s" % (pr / vr, "PASS" if pr / vr >= 5 else "MISS"))
print("time vs dd:         %.2fx (target <= 1.5x)  %s" % (vw / dw, "PASS" if vw / dw <= 1.5 else "MISS"))
PY
else
	echo "pygrub unavailable: $(cat "$T/why")"
	python3 -c "import sys; print('time vs dd: %.2fx (target <= 1.5x)' % (float(sys.argv[1]) / float(sys.argv[2])))" "$vd_wall" "$dd_wall"
fi
