#!/bin/sh
# Writes the linker script that lays out the static vdloader's code by use (plugin/vdloader.ld).
#
# Why: the kernel maps a file-backed page together with its neighbours in the page cache (64 KiB
# "fault-around" windows), so a process's resident size is the number of windows its code
# touches, not the bytes it runs. Linked in archive order, the ~330 functions each of
# vdloader's two processes runs lie scattered over most of the 1.1 MiB of code: each maps
# ~800 KiB. Grouped (the parent's and the sandboxed reader's common code, then the reader's, then
# the parent's) each maps ~300 KiB.
#
# How: PROFILE (the static vdloader linked without the layout, with its link map MAP) runs
# under a single-stepping tracer on the test images (tests/integration/boot/mkimages.sh, and
# the benchmark's shape: bare ext4, 1 MiB kernel and initrd, where the copy thread runs); every
# instruction address is mapped to its input section (archive member and section name) through
# MAP. The script lists those sections, per group, in link order, in an output section inserted
# before .text. Sections of other objects stay where they were: a path no image took costs only
# its own windows, and a member the C library renames or drops just does not match.
#
# Usage (make vdloader-layout does it): vdloader-layout.sh PROFILE MAP OUT
set -eu
: "${top_srcdir:?}"
PROFILE=$1 MAP=$2 OUT=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/vdloader-layout.XXXXXX")
trap 'rm -rf "$T"' EXIT
PATH=$PATH:/sbin:/usr/sbin

SANDBOX_OPT=
[ "$(id -u)" -eq 0 ] || SANDBOX_OPT=--unprivileged-sandbox

# The tracer: follows every fork and thread, single-steps them all, and prints each distinct
# instruction address of the program's own mapping once, tagged P (vdloader's thread group)
# or C (the sandboxed reader).
cat > "$T/step.c" <<'C'
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#define H (1u << 22)
static uint64_t seen[H];
static pid_t tgid(pid_t pid)
{
	char path[64], line[256];
	pid_t v = -1;
	FILE *f;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Tgid:", 5))
			v = atoi(line + 5);
	fclose(f);
	return v;
}
int main(int argc, char **argv)
{
	int status, n_known = 0, is_parent[256];
	pid_t pid = fork(), w, known[256];
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
	       PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL);
	ptrace(PTRACE_SINGLESTEP, pid, 0, 0);
	while ((w = waitpid(-1, &status, __WALL)) > 0) {
		int sig = 0;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (w == pid)
				return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			continue;
		}
		if (WSTOPSIG(status) == SIGTRAP) {
			struct user_regs_struct r;
			if (ptrace(PTRACE_GETREGS, w, 0, &r) == 0 && r.rip < 0x10000000) {
				int parent = -1;
				for (int i = 0; i < n_known; i++)
					if (known[i] == w)
						parent = is_parent[i];
				if (parent < 0) {
					parent = tgid(w) == pid;
					if (n_known < 256) {
						known[n_known] = w;
						is_parent[n_known++] = parent;
					}
				}
				uint64_t key = (r.rip << 1) | (uint64_t)parent;
				uint32_t h = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 42);
				while (seen[h] && seen[h] != key)
					h = (h + 1) & (H - 1);
				if (!seen[h]) {
					seen[h] = key;
					printf("%c %lx\n", parent ? 'P' : 'C', (unsigned long)r.rip);
				}
			}
		} else if (WSTOPSIG(status) != SIGSTOP) {
			sig = WSTOPSIG(status);
		}
		ptrace(PTRACE_SINGLESTEP, w, 0, sig);
	}
	return 0;
}
C
${CC:-cc} -O2 -o "$T/step" "$T/step.c"

# The images: the test set, and the benchmark's.
sh "$top_srcdir/tests/integration/boot/mkimages.sh" "$T/img" > /dev/null
sh "$top_srcdir/bench/vdloader-image.sh" "$T/img" bench 1 1

# single-stepped, a run takes ~10^4 times as long
printf 'boot_timeout = 3600\n' > "$T/xenvd.conf"
: > "$T/rips"
for img in bench bare-ext4 mbr-sepboot gpt bls; do
	[ -f "$T/img/$img.img" ] || { echo "vdloader-layout: no image $img.img" >&2; exit 1; }
	rm -rf "$T/d"
	mkdir -m 0700 "$T/d"
	: > "$T/out"
	echo "vdloader-layout: profiling $img.img" >&2
	"$T/step" "$PROFILE" $SANDBOX_OPT --config="$T/xenvd.conf" --output="$T/out" \
		--output-format=simple0 \
		--output-directory="$T/d" "$T/img/$img.img" >> "$T/rips" ||
		{ echo "vdloader-layout: vdloader failed on $img.img" >&2; exit 1; }
done

grep -q '^C ' "$T/rips" && grep -q '^P ' "$T/rips" ||
	{ echo "vdloader-layout: no instruction of $PROFILE seen below 0x10000000 (not a static" \
		"non-PIE program?)" >&2; exit 1; }
python3 - "$MAP" "$T/rips" > "$OUT.tmp" <<'PY'
import bisect, os, re, sys

# The input sections of the map: (address, size, section, file) of every placed .text* section.
secs = []
pending = None
lines = open(sys.argv[1]).read().split('\n')
for line in lines[lines.index('Linker script and memory map'):]:
    m = re.match(r'^ (\.\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$', line)
    if m:
        secs.append((int(m.group(2), 16), int(m.group(3), 16), m.group(1), m.group(4)))
        pending = None
        continue
    m = re.match(r'^ (\.\S+)\s*$', line)
    if m:
        pending = m.group(1)
        continue
    m = re.match(r'^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$', line)
    if m and pending:
        secs.append((int(m.group(1), 16), int(m.group(2), 16), pending, m.group(3)))
    pending = None
secs = sorted(s for s in secs if s[0] and s[1] and s[2].startswith('.text'))
starts = [s[0] for s in secs]

def section(addr):
    i = bisect.bisect_right(starts, addr) - 1
    return secs[i] if i >= 0 and addr < secs[i][0] + secs[i][1] else None

used = {'P': set(), 'C': set()}
for line in open(sys.argv[2]):
    who, addr = line.split()
    s = section(int(addr, 16))
    if s:
        used[who].add(s)

def pattern(s):
    m = re.match(r'^(?:.*/)?([^/(]+)\(([^)]+)\)$', s[3])
    name = '*%s:%s' % (m.group(1), m.group(2)) if m else '*' + os.path.basename(s[3])
    return '%s(%s)' % (name, s[2])

groups = (('the code both processes run (next to .plt, which both call through)',
           used['P'] & used['C']),
          ("the sandboxed reader's", used['C'] - used['P']),
          ("vdloader's own (start-up, setup, the copy, exit)", used['P'] - used['C']))
print('/* Generated by plugin/vdloader-layout.sh (make vdloader-layout): the static vdloader\'s')
print(' * code laid out by use, so that each of its processes maps few 64 KiB windows of it. Only')
print(' * the order changes; sections not listed stay where the default script puts them. */')
print('SECTIONS')
print('{')
print('  .text.vdloader_hot : {')
for title, group in groups:
    print('    /* %s: %d bytes */' % (title, sum(s[1] for s in group)))
    for s in sorted(group):
        if re.search(r'(^|/)crt[^/]*\.o$', s[3]):
            continue  # the C runtime's start files stay first
        print('    ' + pattern(s))
# The C library picks each string function's variant by CPU at start-up; the profile saw this
# machine's. Another CPU's variants stay together, one cluster per instruction set.
print("    /* the string functions' variants for other CPUs, one cluster per instruction set */")
print('    *libc.a:*(.text.evex .text.evex512 .text.avx512)')
print('    *libc.a:*(.text.avx)')
print('    *libc.a:*(.text.sse4 .text.ssse3 .text.atom)')
print('  }')
print('}')
print('INSERT BEFORE .text;')
PY
mv "$OUT.tmp" "$OUT"
echo "vdloader-layout: wrote $OUT" >&2
