#!/bin/sh
# vdloader against pygrub (Debian xen-utils-4.17, unpacked) and against a plain cp of the same
# two files into a fresh directory, on two images: a 7 MiB kernel + 30 MiB initrd (the copy is
# the physical limit) and a 1 MiB kernel + 1 MiB initrd (everything else is overhead). Whole
# processes, medians of RUNS, warm page cache, all figures from this one run.
# Targets: <= 1.05x cp on the big image, >= 15x faster than pygrub on the small one, peak RSS
# <= 1/10 of pygrub's.
set -eu
: "${top_srcdir:?}" "${top_builddir:?}"
RUNS=${RUNS:-9}
VDLOADER=$top_builddir/plugin/vdloader
T=$(mktemp -d "${TMPDIR:-/tmp}/vdloader-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
PATH=$PATH:/sbin:/usr/sbin

make_image() { # name kernel-MiB initrd-MiB
	rm -rf "$T/src"
	mkdir -p "$T/src/boot/grub" "$T/src/etc" "$T/files-$1"
	head -c $(($2 * 1024 * 1024)) /dev/urandom > "$T/src/boot/vmlinuz-6.1.0-13-amd64"
	head -c $(($3 * 1024 * 1024)) /dev/urandom > "$T/src/boot/initrd.img-6.1.0-13-amd64"
	cp "$T/src/boot/vmlinuz-6.1.0-13-amd64" "$T/src/boot/initrd.img-6.1.0-13-amd64" "$T/files-$1/"
	echo "/dev/xvda1 / ext4 defaults 0 1" > "$T/src/etc/fstab"
	cat > "$T/src/boot/grub/grub.cfg" <<'CFG'
set default="0"
menuentry 'Debian GNU/Linux' {
	linux	/boot/vmlinuz-6.1.0-13-amd64 root=/dev/xvda1 ro console=hvc0 quiet
	initrd	/boot/initrd.img-6.1.0-13-amd64
}
CFG
	mke2fs -q -F -t ext4 -d "$T/src" "$T/$1.img" $(($2 + $3 + 24))M
	rm -rf "$T/src"
}
make_image big 7 30
make_image small 1 1

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
PYGRUB=
if PYGRUB_ROOT=$(sh "$top_srcdir/tests/integration/boot/get-pygrub.sh" 2>"$T/why"); then
	PYGRUB=$PYGRUB_ROOT/usr/lib/xen-4.17/bin/pygrub
	export XEN_FSIMAGE_FSDIR=$PYGRUB_ROOT/usr/lib/xen-4.17/lib/x86_64-linux-gnu/xenfsimage
	export LD_LIBRARY_PATH=$PYGRUB_ROOT/usr/lib/xen-4.17/lib/x86_64-linux-gnu
fi

printf '%-6s %-9s %9s %13s\n' image tool wall_ms peak_rss_KiB
for img in big small; do
	# warm the page cache once so every tool reads from memory
	cat "$T/$img.img" "$T/files-$img"/* > /dev/null
	set -- $("$T/measure" "$RUNS" "$prep" "$VDLOADER" $SANDBOX_OPT --output="$T/out" \
		--output-format=simple0 --output-directory="$T/d" "$T/$img.img")
	eval "vd_${img}_wall=$1 vd_${img}_rss=$2"
	ls "$T/d" | grep -q boot_kernel || { echo "vdloader produced no kernel"; exit 1; }
	set -- $("$T/measure" "$RUNS" "$prep" cp "$T/files-$img/vmlinuz-6.1.0-13-amd64" \
		"$T/files-$img/initrd.img-6.1.0-13-amd64" "$T/d/")
	eval "cp_${img}_wall=$1 cp_${img}_rss=$2"
	if [ -n "$PYGRUB" ]; then
		set -- $("$T/measure" "$RUNS" "$prep" python3 "$PYGRUB" -q --output="$T/out" \
			--output-format=simple0 --output-directory="$T/d" "$T/$img.img")
	else
		set -- 0 0
	fi
	eval "py_${img}_wall=$1 py_${img}_rss=$2"
	for tool in vd cp py; do
		eval "w=\$${tool}_${img}_wall r=\$${tool}_${img}_rss"
		[ "$tool" = py ] && [ -z "$PYGRUB" ] && continue
		printf '%-6s %-9s %9.2f %13s\n' "$img" \
			"$(case $tool in vd) echo vdloader ;; cp) echo cp ;; py) echo pygrub ;; esac)" \
			"$(python3 -c "print(float('$w') * 1000)")" "$r"
	done
done
echo "(big: 7 MiB kernel + 30 MiB initrd; small: 1 MiB + 1 MiB; median of $RUNS runs, warm cache)"
[ -n "$PYGRUB" ] || echo "pygrub unavailable: $(cat "$T/why")"
python3 - "$vd_big_wall" "$cp_big_wall" "$py_big_wall" "$vd_small_wall" "$cp_small_wall" \
	"$py_small_wall" "$vd_big_rss" "$py_big_rss" "$vd_small_rss" "$py_small_rss" <<'PY'
import sys
vb, cb, pb, vs, cs, ps, vbr, pbr, vsr, psr = map(float, sys.argv[1:])
def verdict(ok):
    return "PASS" if ok else "MISS"
print("big:   vdloader / cp     = %.2fx  (target <= 1.05x)  %s" % (vb / cb, verdict(vb / cb <= 1.05)))
print("small: vdloader / cp     = %.2fx" % (vs / cs))
if pb > 0:
    print("big:   pygrub / vdloader = %.1fx" % (pb / vb))
    print("small: pygrub / vdloader = %.1fx  (target >= 15x)  %s" % (ps / vs, verdict(ps / vs >= 15)))
    print("RSS:   pygrub / vdloader = %.1f (big), %.1f (small)  (target >= 10)  %s"
          % (pbr / vbr, psr / vsr, verdict(min(pbr / vbr, psr / vsr) >= 10)))
PY
