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

sh "$top_srcdir/bench/vdloader-image.sh" "$T" big 7 30
sh "$top_srcdir/bench/vdloader-image.sh" "$T" small 1 1

SANDBOX_OPT=
[ "$(id -u)" -eq 0 ] || SANDBOX_OPT=--unprivileged-sandbox

# A tiny C launcher measures. Time: whole processes from fork to wait4, medians of RUNS. Peak
# RSS, in a separate untimed pass: the command runs under ptrace, which follows every fork and
# thread, and reads VmHWM from /proc at every process exit. "sum": the largest total, at any
# exit, of the peaks of the processes then alive (vdloader's sandboxed child counts in full
# beside its parent, although the two share most pages: an upper bound of what the run held at
# once; pygrub's ~40 short helper processes count only while they run); "max": the largest
# single process (what wait4's ru_maxrss reports: Linux folds a reaped child's peak into it).
cat > "$T/measure.c" <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}
static void quiet(void)
{
	int fd = open("/dev/null", O_WRONLY);
	dup2(fd, 1);
	if (!getenv("MEASURE_KEEP_STDERR"))
		dup2(fd, 2);
}
/* VmHWM of pid, if pid leads its thread group (threads share one mm: count it once) */
static long hwm(pid_t pid)
{
	char path[64], line[256];
	long v = 0, tgid = -1;
	FILE *f;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "VmHWM:", 6))
			v = atol(line + 6);
		if (!strncmp(line, "Tgid:", 5))
			tgid = atol(line + 5);
	}
	fclose(f);
	return tgid == pid ? v : 0;
}
/* The peak RSS of a process tree: at every process exit, the VmHWM of each process then alive
 * added up; the largest such sum (an upper bound of what the tree held at once: no process's
 * RSS ever exceeds its VmHWM). *max: the largest single VmHWM. */
static int rss(char **argv, long *sum, long *max)
{
	pid_t alive[4096];
	int n_alive = 1, status;
	pid_t pid = fork(), w;
	if (pid == 0) {
		quiet();
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		execvp(argv[0], argv);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
	       PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL);
	ptrace(PTRACE_CONT, pid, 0, 0);
	alive[0] = pid;
	*sum = *max = 0;
	while ((w = waitpid(-1, &status, __WALL)) > 0) {
		int sig = 0, known = 0;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (w == pid && (!WIFEXITED(status) || WEXITSTATUS(status)))
				return -1;
			continue;
		}
		for (int i = 0; i < n_alive; i++)
			known |= alive[i] == w;
		if (!known && n_alive < 4096)
			alive[n_alive++] = w;
		if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			long total = 0, v = hwm(w);
			if (v && getenv("MEASURE_DETAIL")) {
				/* where the memory goes: this process's peak, and what it maps now */
				char path[64], line[256];
				FILE *f;
				snprintf(path, sizeof(path), "/proc/%d/status", w);
				if ((f = fopen(path, "r"))) {
					fprintf(stderr, "pid %d (%s):", w, w == pid ? "parent" : "child");
					while (fgets(line, sizeof(line), f))
						if (!strncmp(line, "VmHWM:", 6) ||
						    !strncmp(line, "RssAnon:", 8) ||
						    !strncmp(line, "RssFile:", 8)) {
							line[strcspn(line, "\n")] = '\0';
							fprintf(stderr, " %s", line);
						}
					fprintf(stderr, "\n");
					fclose(f);
				}
			}
			for (int i = 0; i < n_alive; i++)
				total += hwm(alive[i]);
			*sum = total > *sum ? total : *sum;
			*max = v > *max ? v : *max;
			for (int i = 0; i < n_alive; i++)
				if (alive[i] == w)
					alive[i] = alive[--n_alive];
		} else if (WSTOPSIG(status) == SIGTRAP) {
			/* fork/clone/exec events */
		} else if (status >> 16 == 0 && WSTOPSIG(status) != SIGSTOP) {
			sig = WSTOPSIG(status);
		}
		ptrace(PTRACE_CONT, w, 0, sig);
	}
	return 0;
}
/* One timed run of argv after prep: wall and CPU seconds (threads and reaped children) */
static int timed(const char *prep, char **argv, double *wall, double *cpu)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status;
	pid_t pid;
	if (system(prep) != 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid == 0) {
		quiet();
		execvp(argv[0], argv);
		_exit(127);
	}
	wait4(pid, &status, 0, &ru);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (status != 0) {
		fprintf(stderr, "command failed: %s\n", argv[0]);
		return -1;
	}
	*wall = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	*cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	return 0;
}
/* pair RUNS PREP CMD_A... -- CMD_B...: A and B interleaved (which goes first alternates), so a
 * change in the machine's load reaches both alike; prints the medians of A/B per pair, wall and
 * CPU, then A's and B's own median walls */
static int pair(int argc, char **argv)
{
	int runs = atoi(argv[2]), split = 0;
	double rw[256], rc[256], wa[256], wb[256];
	for (int i = 4; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			argv[i] = NULL;
			split = i;
		}
	if (!split || runs < 1 || runs > 256)
		return 2;
	for (int i = 0; i < runs; i++) {
		double ca, cb;
		int r;
		if (i % 2 == 0)
			r = timed(argv[3], argv + 4, &wa[i], &ca) ?: timed(argv[3], argv + split + 1, &wb[i], &cb);
		else
			r = timed(argv[3], argv + split + 1, &wb[i], &cb) ?: timed(argv[3], argv + 4, &wa[i], &ca);
		if (r)
			return 1;
		rw[i] = wa[i] / wb[i];
		rc[i] = cb > 0 ? ca / cb : 0;
	}
	qsort(rw, runs, sizeof(double), cmp);
	qsort(rc, runs, sizeof(double), cmp);
	qsort(wa, runs, sizeof(double), cmp);
	qsort(wb, runs, sizeof(double), cmp);
	printf("%.4f %.4f %.4f %.4f\n", rw[runs / 2], rc[runs / 2], wa[runs / 2], wb[runs / 2]);
	return 0;
}
int main(int argc, char **argv)
{
	if (!strcmp(argv[1], "pair"))
		return pair(argc, argv);
	int runs = atoi(argv[1]);
	double walls[64], cpus[64];
	long sum = 0, max = 0;
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
			quiet();
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
		/* CPU time, threads and reaped children included: less sensitive to other load */
		cpus[i] = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
			  (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	}
	qsort(walls, runs, sizeof(double), cmp);
	qsort(cpus, runs, sizeof(double), cmp);
	for (int i = 0; i < 3; i++) { /* the largest of three runs */
		long s, m;
		if (system(argv[2]) != 0 || rss(argv + 3, &s, &m) < 0) {
			fprintf(stderr, "command failed under ptrace: %s\n", argv[3]);
			return 1;
		}
		sum = s > sum ? s : sum;
		max = m > max ? m : max;
	}
	printf("%.4f %ld %ld %.4f\n", walls[runs / 2], sum, max, cpus[runs / 2]);
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

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-min load average; $(nproc) CPUs)"
printf '%-6s %-9s %9s %8s %14s %14s\n' image tool wall_ms cpu_ms rss_sum_KiB rss_max_KiB
for img in big small; do
	# warm the page cache once so every tool reads from memory
	cat "$T/$img.img" "$T/files-$img"/* > /dev/null
	set -- $("$T/measure" "$RUNS" "$prep" "$VDLOADER" $SANDBOX_OPT --output="$T/out" \
		--output-format=simple0 --output-directory="$T/d" "$T/$img.img")
	eval "vd_${img}_wall=$1 vd_${img}_rss=$2 vd_${img}_max=$3 vd_${img}_cpu=$4"
	ls "$T/d" | grep -q boot_kernel || { echo "vdloader produced no kernel"; exit 1; }
	set -- $("$T/measure" "$RUNS" "$prep" cp "$T/files-$img/vmlinuz-6.1.0-13-amd64" \
		"$T/files-$img/initrd.img-6.1.0-13-amd64" "$T/d/")
	eval "cp_${img}_wall=$1 cp_${img}_rss=$2 cp_${img}_max=$3 cp_${img}_cpu=$4"
	if [ -n "$PYGRUB" ]; then
		set -- $("$T/measure" "$RUNS" "$prep" python3 "$PYGRUB" -q --output="$T/out" \
			--output-format=simple0 --output-directory="$T/d" "$T/$img.img")
	else
		set -- 0 0 0 0
	fi
	eval "py_${img}_wall=$1 py_${img}_rss=$2 py_${img}_max=$3 py_${img}_cpu=$4"
	for tool in vd cp py; do
		eval "w=\$${tool}_${img}_wall r=\$${tool}_${img}_rss m=\$${tool}_${img}_max"
		eval "c=\$${tool}_${img}_cpu"
		[ "$tool" = py ] && [ -z "$PYGRUB" ] && continue
		printf '%-6s %-9s %9.2f %8.2f %14s %14s\n' "$img" \
			"$(case $tool in vd) echo vdloader ;; cp) echo cp ;; py) echo pygrub ;; esac)" \
			"$(python3 -c "print(float('$w') * 1000)")" \
			"$(python3 -c "print(float('$c') * 1000)")" "$r" "$m"
	done
done
# The copy target, paired: vdloader and cp alternate, PAIRS times, and the ratio is the median
# of each pair's ratio (robust to the load changing during the run, which block medians are not)
PAIRS=${PAIRS:-21}
cat "$T/big.img" "$T/files-big"/* > /dev/null
set -- $("$T/measure" pair "$PAIRS" "$prep" "$VDLOADER" $SANDBOX_OPT --output="$T/out" \
	--output-format=simple0 --output-directory="$T/d" "$T/big.img" -- \
	cp "$T/files-big/vmlinuz-6.1.0-13-amd64" "$T/files-big/initrd.img-6.1.0-13-amd64" "$T/d/")
pair_wall=$1 pair_cpu=$2 pair_vd=$3 pair_cp=$4
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(big: 7 MiB kernel + 30 MiB initrd; small: 1 MiB + 1 MiB; median of $RUNS runs, warm cache;"
echo " rss_sum: the peaks (VmHWM) of the processes alive together, added up; rss_max: the largest"
echo " single process's peak; each the largest of 3 runs)"
[ -n "$PYGRUB" ] || echo "pygrub unavailable: $(cat "$T/why")"

# Where vdloader's time goes: its own marks (XENVD_VDLOADER_TIMING=1, ms since main() began),
# medians of RUNS runs per image; "exec+exit" is the wall time outside main (execve, loading,
# process teardown), measured as this run's wall time minus the "done" mark.
for img in small big; do
	: > "$T/marks-$img"
	i=0
	while [ $i -lt "$RUNS" ]; do
		sh -c "$prep"
		python3 - "$T/marks-$img" "$VDLOADER" $SANDBOX_OPT --output="$T/out" \
			--output-format=simple0 --output-directory="$T/d" "$T/$img.img" <<'PY'
import os, subprocess, sys, time
env = dict(os.environ, XENVD_VDLOADER_TIMING="1")
t0 = time.monotonic()
p = subprocess.run(sys.argv[2:], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = (time.monotonic() - t0) * 1000
with open(sys.argv[1], "a") as f:
    for line in p.stderr.decode().splitlines():
        if line.startswith("vdloader: timing: "):
            f.write(line[len("vdloader: timing: "):] + "\n")
    f.write("wall %.3f\n" % wall)
PY
		i=$((i + 1))
	done
	python3 - "$T/marks-$img" "$img" <<'PY'
import statistics, sys
marks = {}
order = []
for line in open(sys.argv[1]):
    k, v = line.split()
    if k not in marks:
        order.append(k)
    marks.setdefault(k, []).append(float(v))
med = {k: statistics.median(v) for k, v in marks.items()}
prev, prev_name = 0.0, "main"
parts = []
for k in order:
    if k == "wall":
        continue
    parts.append("%s->%s %.2f" % (prev_name, k, med[k] - prev))
    prev, prev_name = med[k], k
print("%s: vdloader phases (ms): %s; exec+exit %.2f (wall %.2f, via python's subprocess)"
      % (sys.argv[2], ", ".join(parts), med["wall"] - med["done"], med["wall"]))
PY
done

# Where vdloader's memory goes: each process's peak at its exit (file pages are the static
# binary's code and constants, which the kernel maps in 64 KiB windows around each page touched).
sh -c "$prep"
MEASURE_DETAIL=1 "$T/measure" 1 "$prep" "$VDLOADER" $SANDBOX_OPT --output="$T/out" \
	--output-format=simple0 --output-directory="$T/d" "$T/small.img" 2>&1 >/dev/null |
	sed -n 's/^pid [0-9]* /small: vdloader /p' | tr -s ' \t' ' ' | awk '!seen[$3]++'
python3 - "$vd_big_wall" "$cp_big_wall" "$py_big_wall" "$vd_small_wall" "$cp_small_wall" \
	"$py_small_wall" "$vd_big_rss" "$py_big_rss" "$vd_small_rss" "$py_small_rss" \
	"$vd_big_max" "$py_big_max" "$vd_small_max" "$py_small_max" \
	"$vd_big_cpu" "$cp_big_cpu" "$vd_small_cpu" "$py_small_cpu" \
	"$pair_wall" "$pair_cpu" "$pair_vd" "$pair_cp" "$PAIRS" <<'PY'
import sys
(vb, cb, pb, vs, cs, ps, vbr, pbr, vsr, psr, vbm, pbm, vsm, psm,
 vbc, cbc, vsc, psc, pw, pc, pv, pcp, pairs) = map(float, sys.argv[1:])
def verdict(ok):
    return "PASS" if ok else "MISS"
print("big:   vdloader / cp     = %.2fx  (medians of separate blocks of runs)" % (vb / cb))
print("big:   vdloader / cp     = %.2fx  paired (median of %d interleaved pairs' ratios; "
      "vdloader %.2f ms, cp %.2f ms)  (target <= 1.05x)  %s"
      % (pw, pairs, pv * 1000, pcp * 1000, verdict(pw <= 1.05)))
print("big:   vdloader / cp CPU time, paired = %.2fx" % pc)
print("small: vdloader / cp     = %.2fx" % (vs / cs))
if cbc > 0:
    print("big:   vdloader / cp CPU time = %.2fx (user+system, threads and children included)"
          % (vbc / cbc))
if pb > 0:
    print("big:   pygrub / vdloader = %.1fx" % (pb / vb))
    print("small: pygrub / vdloader = %.1fx  (target >= 15x)  %s" % (ps / vs, verdict(ps / vs >= 15)))
    if vsc > 0:
        print("small: pygrub / vdloader CPU time = %.1fx" % (psc / vsc))
    print("RSS (processes alive together)   : pygrub / vdloader = %.1f (big), %.1f (small)"
          "  (target >= 10)  %s" % (pbr / vbr, psr / vsr, verdict(min(pbr / vbr, psr / vsr) >= 10)))
    print("RSS (largest single process):      pygrub / vdloader = %.1f (big), %.1f (small)"
          % (pbm / vbm, psm / vsm))
PY
