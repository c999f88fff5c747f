#!/bin/bash
# Whole-process latency of the pool's everyday commands against the size of the pool: xl-vd
# create, show and list, and block-vd's database phase (bench/bench_dbphase: what block-vd add
# and remove do with the database, through the same calls, device-mapper and xenstore left
# out), on pools of 10^3, 10^4, 10^5 and 10^6 extents of 4 MiB, side by side in one run: each
# round runs every command once on every pool, so load on the machine falls on all sizes alike.
# Prints p50 and p99 per command and size, the ratio largest/smallest, and whether the targets
# hold: create p50 <= 3 ms at 10^6 extents, no figure growing more than 1.2x from 10^3 to 10^6.
# A process that opens no database (xl-vd --help) is timed alongside, as the floor a process
# costs on this machine.
#
# Environment:
#   BENCH_RUNS=101                   rounds (p99 needs about 100)
#   BENCH_EXTENTS="1000 10000 100000 1000000"
#   XL_VD, BENCH_DBPHASE             the programs (default: the build tree's)
#   BENCH_DIR                        where the pools go (sparse files; default a temporary dir)
# Exit: 0 when every figure was measured (targets missed are reported, not failed); 1 on error.
set -u

here=$(cd "$(dirname "$0")" && pwd)
XL_VD=${XL_VD:-$here/../xl-extensions/xl-vd}
DBPHASE=${BENCH_DBPHASE:-$here/bench_dbphase}
RUNS=${BENCH_RUNS:-101}
SIZES=${BENCH_EXTENTS:-1000 10000 100000 1000000}
ES_MIB=4

say() { echo "bench_pool: $*"; }
die() { echo "bench_pool: FAIL: $*" >&2; exit 1; }

[ -n "${EPOCHREALTIME:-}" ] || { say "SKIP: needs bash 5 (\$EPOCHREALTIME)"; exit 77; }
[ -x "$XL_VD" ] || die "$XL_VD is not built"
[ -x "$DBPHASE" ] || die "$DBPHASE is not built (make bench/bench_dbphase)"

top=$(mktemp -d "${BENCH_DIR:-/tmp}/bench-pool.XXXXXX") || die "mktemp failed"
chmod 0700 "$top"
trap 'rm -rf "$top"' EXIT
export XENVD_CONF="$top/xenvd.conf" # absent: defaults, never the host's

# ---- the pools, one database each
for n in $SIZES; do
	mkdir -m 0700 "$top/$n"
	truncate -s $(((n * ES_MIB + 1) * 1024 * 1024)) "$top/$n/pool.img"
	s=$EPOCHREALTIME
	XENVD_DB="$top/$n/xenvd.db" "$XL_VD" format "$top/$n/pool.img" \
		--extent-size ${ES_MIB}M >/dev/null || die "format of $n extents failed"
	e=$EPOCHREALTIME
	wal=$(stat -c %s "$top/$n/xenvd.db-wal" 2>/dev/null || echo 0)
	say "$(printf 'pool of %8d extents: format %7.1f ms, WAL left %d bytes' "$n" \
		"$(echo "($e - $s) * 1000" | bc -l)" "$wal")"
	# the VD the show and database-phase figures use
	XENVD_DB="$top/$n/xenvd.db" "$XL_VD" create 64M --name bench >/dev/null ||
		die "create on $n failed"
done

# ---- timing: one process, its wall time in microseconds appended to a file
declare -A OUT
timed() { # timed KEY CMD...: run CMD, append its time to $top/KEY
	local s e
	s=$EPOCHREALTIME
	"${@:2}" >/dev/null 2>"$top/err" || die "'${*:2}' failed: $(cat "$top/err")"
	e=$EPOCHREALTIME
	echo "$(((${e/./} - ${s/./})))" >>"$top/t.$1"
}

ops="help create show list dbphase-add dbphase-remove"
for n in $SIZES; do # one untimed round: page cache, WAL, lock files
	export XENVD_DB="$top/$n/xenvd.db"
	"$XL_VD" show bench >/dev/null && "$XL_VD" list >/dev/null &&
		"$DBPHASE" add 1 dom7/warmup >/dev/null && "$DBPHASE" remove 1 dom7/warmup >/dev/null ||
		die "warm-up on $n failed"
done
for ((r = 0; r < RUNS; r++)); do
	for n in $SIZES; do
		export XENVD_DB="$top/$n/xenvd.db"
		timed "help.$n" "$XL_VD" --help
		timed "create.$n" "$XL_VD" create ${ES_MIB}M
		timed "show.$n" "$XL_VD" show bench
		timed "list.$n" "$XL_VD" list
		timed "dbphase-add.$n" "$DBPHASE" add 1 /local/domain/0/backend/vbd/7/51712
		timed "dbphase-remove.$n" "$DBPHASE" remove 1 /local/domain/0/backend/vbd/7/51712
	done
done

# ---- figures
pct() { # pct FILE P: the P-th percentile, in ms
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END {
		i = int(p / 100 * (NR - 1) + 0.5) + 1; printf "%.2f", v[i] / 1000 }'
}
first=${SIZES%% *}
last=${SIZES##* }
say "$RUNS runs per figure, whole processes, ms (p50 / p99); ratio = $last / $first extents"
printf '%-16s' "command"
for n in $SIZES; do printf '%18s' "$n ext"; done
printf '%16s\n' "ratio p50/p99"
worst=0
worst_what=""
for op in $ops; do
	printf '%-16s' "$op"
	for n in $SIZES; do
		printf '%18s' "$(pct "$top/t.$op.$n" 50) / $(pct "$top/t.$op.$n" 99)"
	done
	r50=$(echo "$(pct "$top/t.$op.$last" 50) / $(pct "$top/t.$op.$first" 50)" | bc -l)
	r99=$(echo "$(pct "$top/t.$op.$last" 99) / $(pct "$top/t.$op.$first" 99)" | bc -l)
	printf '%16s\n' "$(printf '%.2f / %.2f' "$r50" "$r99")"
	if [ "$op" = help ]; then
		noise=$(printf '%.2f' "$(echo "m = $r50; if (1 / $r50 > m) m = 1 / $r50;
			if ($r99 > m) m = $r99; if (1 / $r99 > m) m = 1 / $r99; m" | bc -l)")
	else
		for x in "$r50 p50" "$r99 p99"; do
			set -- $x
			if [ "$(echo "$1 > $worst" | bc -l)" = 1 ]; then
				worst=$1
				worst_what="$op $2"
			fi
		done
	fi
done
c50=$(pct "$top/t.create.$last" 50)
h50=$(pct "$top/t.help.$last" 50)
met() { [ "$(echo "$1" | bc -l)" = 1 ] && echo "met" || echo "NOT met"; }
say "$(printf 'target create p50 <= 3 ms at %s extents: %s ms, %s (a process that opens no database: %s ms here)' \
	"$last" "$c50" "$(met "$c50 <= 3")" "$h50")"
say "$(printf 'target growth <= 1.2x from %s to %s extents: largest %.2fx (%s), %s' \
	"$first" "$last" "$worst" "$worst_what" "$(met "$worst <= 1.2")")"
say "the process that opens no database differs ${noise}x between the smallest and largest pool:" \
	"machine noise of that order is in every ratio of this run"
exit 0
