# Helpers for the test bed's dom0 scripts (busybox sh): step runner with per-step timeouts, verdict
# lines, shared state between steps, guest start/wait/stop with bounded waits, disk markers.
# Sourced by dom0-init.sh, scenario.sh and bench.sh; it runs nothing by itself.

E2E_RUN=/run/e2e
mkdir -p "$E2E_RUN" /tmp/e2e
XL_VD=/usr/sbin/xl-vd
BLOCK_VD=/etc/xen/scripts/block-vd
VDLOADER=/usr/lib/xen-4.17/bin/vdloader
CONSOLE_DIR=/var/log/xen/console

e2e_now() { cut -d' ' -f1 /proc/uptime; }
e2e_secs() { echo "$SECONDS"; } # (bash's clock: waits must not fork just to read the time)
e2e_log() { echo "XENVD-E2E: note $*"; }

# ---- state shared by steps (each step runs in its own process)
state_set() { echo "$2" >"$E2E_RUN/state.$1"; }
state_get() { cat "$E2E_RUN/state.$1" 2>/dev/null; }

# ---- verdicts from inside a step
skip() { echo "$*" >"$E2E_RUN/reason.$E2E_STEP"; echo "SKIP: $*"; exit 77; }
fail() { echo "$*" >"$E2E_RUN/reason.$E2E_STEP"; echo "FAIL: $*"; exit 1; }
info() { echo "-- $*"; }
# run a command, show it and its output; returns its status
run() {
	echo "+ $*"
	"$@"
}

need_prog() { # $1 = path of an installed program, $2 = its name
	[ -x "$1" ] || skip "$2 not built yet (no $1 in the installed tree)"
}
# the xl-vd subcommands a step uses: a missing one fails the step
need_xlvd() {
	local sub out
	need_prog "$XL_VD" xl-vd
	for sub in "$@"; do
		out=$("$XL_VD" "$sub" --help 2>&1) ||
			fail "xl-vd $sub --help fails: $(echo "$out" | head -1)"
	done
}
need_step() { # a prerequisite step must have passed
	local r
	r=$(cat "$E2E_RUN/result.$1" 2>/dev/null || echo "NOTRUN")
	[ "$r" = PASS ] || skip "needs step $1, which did not pass ($r)"
}

# ---- the runner: e2e_step NAME TIMEOUT [ARGS...] (ARGS go to the step after its name)
e2e_step() {
	local name limit t0 rc reason dt verdict
	name=$1
	limit=$2
	shift 2
	echo "XENVD-E2E: begin $name (limit ${limit}s) at uptime=$(e2e_now)"
	t0=$(e2e_now)
	rm -f "$E2E_RUN/rc.$name" "$E2E_RUN/reason.$name"
	(
		E2E_STEP=$name timeout -k 5 "$limit" bash "$E2E_SCRIPT" --step "$name" "$@" 2>&1
		echo $? >"$E2E_RUN/rc.$name"
	) | while IFS= read -r line; do echo "  [$name] $line"; done
	rc=$(cat "$E2E_RUN/rc.$name" 2>/dev/null || echo 255)
	reason=$(cat "$E2E_RUN/reason.$name" 2>/dev/null | head -1)
	dt=$(awk -v a="$t0" -v b="$(e2e_now)" 'BEGIN{printf "%.1f", b-a}')
	case $rc in
	0) verdict=PASS; reason="(${dt}s)" ;;
	77) verdict=SKIP ;;
	124|137) verdict=FAIL; reason="timed out after ${limit}s" ;;
	*) verdict=FAIL; [ -n "$reason" ] || reason="exit status $rc" ;;
	esac
	echo "$verdict" >"$E2E_RUN/result.$name"
	if [ $verdict = FAIL ]; then
		echo "  [$name] --- dom0 state after the failure:"
		xl list 2>&1 | sed "s/^/  [$name] xl: /"
		dmsetup ls 2>&1 | sed "s/^/  [$name] dm: /"
		tail -n 15 /var/log/xen/xen-hotplug.log 2>/dev/null | sed "s/^/  [$name] hotplug.log: /"
		dmesg | tail -n 15 | sed "s/^/  [$name] dmesg: /"
	fi
	echo "XENVD-E2E: time $name ${dt}s"
	echo "XENVD-E2E: step $name $verdict $reason"
}

# ---- guests
# guest_cfg NAME "DISK-SPECS" "EXTRA" [bootloader|direct] [MEMORY] [pv|pvh]
#   DISK-SPECS: comma-separated quoted xl disk specs, e.g. "'vdev=xvda,access=rw,...'"
#   E2E_ON_REBOOT=restart in the environment: restart on reboot (default destroy)
guest_cfg() {
	local g disks extra how mem type
	g=$1 disks=$2 extra=$3 how=${4:-direct} mem=${5:-128} type=${6:-pv}
	{
		echo "name = \"$g\""
		echo "type = \"$type\""
		echo "memory = $mem"
		echo "vcpus = 1"
		if [ "$how" = bootloader ]; then
			echo "bootloader = \"vdloader\""
		else
			echo "kernel = \"/e2e/guest/vmlinuz\""
			echo "ramdisk = \"/e2e/guest/initrd-direct.gz\""
		fi
		echo "extra = \"$extra\""
		echo "disk = [ $disks ]"
		echo "on_crash = \"destroy\""
		echo "on_reboot = \"${E2E_ON_REBOOT:-destroy}\""
	} >/tmp/e2e/$g.cfg
	rm -f "$CONSOLE_DIR/guest-$g.log" "$CONSOLE_DIR/guest-$g--incoming.log"
}
guest_console() { cat "$CONSOLE_DIR/guest-$1.log" 2>/dev/null | tr -d '\r'; }
# after a same-host migration xenconsoled logs to the incoming domain's name: both files
guest_console_all() { cat "$CONSOLE_DIR/guest-$1.log" "$CONSOLE_DIR/guest-$1--incoming.log" 2>/dev/null | tr -d '\r'; }
# guest_create NAME: xl create, output kept in /tmp/e2e/NAME.create.log; returns xl's status
guest_create() {
	local rc
	echo "+ xl create /tmp/e2e/$1.cfg"
	sed 's/^/    cfg: /' /tmp/e2e/$1.cfg
	xl create /tmp/e2e/$1.cfg >/tmp/e2e/$1.create.log 2>&1
	rc=$?
	sed 's/^/    xl: /' /tmp/e2e/$1.create.log
	return $rc
}
# guest_wait NAME EREGEX SECS: wait for a console line; on timeout show the console
guest_wait() {
	local g re lim end i
	g=$1 re=$2 lim=$3
	end=$((SECONDS + lim))
	# few processes per poll: under TCG every fork+exec in a PV dom0 costs tens of milliseconds
	i=0
	while [ $SECONDS -lt $end ]; do
		grep -qaE "$re" "$CONSOLE_DIR/guest-$g.log" 2>/dev/null && return 0
		i=$((i + 1))
		if [ $((i % 4)) -eq 0 ] && ! guest_exists "$g"; then
			sleep 1
			grep -qaE "$re" "$CONSOLE_DIR/guest-$g.log" 2>/dev/null && return 0
			echo "domain $g is gone"
			break
		fi
		sleep 0.5
	done
	echo "no '$re' on $g's console (waited at most ${lim}s); its console:"
	guest_console "$g" | tail -n 40 | sed "s/^/    $g: /"
	return 1
}
# guest_died_of_emulation NAME DOMID: the domain ended in a triple fault, or its kernel oopsed,
# without being asked to crash. Nested SVM under QEMU's TCG now and then does this to a PVH guest:
# seen in CI and here as a triple fault in the kernel's first instructions (identical registers
# each time, cr4 still only PAE|PGE), as a triple fault in a running guest, and as an oops in
# the interrupt entry (irqentry_enter on the user's GS after a Xen callback vector taken from
# user mode), on a kernel that pvh-boot first checks vdloader copies bit for bit. Prints what it
# found.
guest_died_of_emulation() {
	local g=$1 domid=$2 l
	[ -n "$domid" ] || return 1
	l=$(xl dmesg 2>/dev/null | grep -m1 "d${domid}v0 Triple fault")
	[ -n "$l" ] || l=$(guest_console "$g" | grep -m1 -aE 'BUG: |Oops|general protection fault')
	[ -n "$l" ] || return 1
	guest_console "$g" | grep -q 'CRASHING' && return 1 # a crash we asked for
	echo "XENVD-E2E: note $g (domain $domid) died of the emulator, not of the test: $l"
}
# guest_boot NAME EREGEX SECS CREATE_FAILED: guest_create and guest_wait, once more if the first
# try died of the emulator (guest_died_of_emulation); a second such death fails the step. A failed
# xl create fails the step with CREATE_FAILED; returns 1 if the guest did not reach EREGEX.
guest_boot() {
	local g=$1 re=$2 lim=$3 try domid
	for try in 1 2; do
		guest_create "$g" || fail "$4"
		domid=$(guest_domid "$g")
		guest_wait "$g" "$re" "$lim" && return 0
		[ "$try" = 1 ] && guest_died_of_emulation "$g" "$domid" || return 1
		echo "XENVD-E2E: note creating $g once more"
		guest_destroy "$g"
		rm -f "$CONSOLE_DIR/guest-$g.log"
	done
	return 1
}
# guest_wait_more NAME EREGEX COUNT SECS: more than COUNT matching lines on NAME's consoles
guest_wait_more() {
	local end
	end=$((SECONDS + $4))
	while [ $SECONDS -lt $end ]; do
		[ "$(guest_console_all "$1" | grep -cE "$2")" -gt "$3" ] && return 0
		sleep 0.5
	done
	echo "no new '$2' on $1's consoles within $4s; their tails:"
	guest_console_all "$1" | tail -n 15 | sed "s/^/    $1: /"
	return 1
}
guest_domid() { xl domid "$1" 2>/dev/null; }
guest_exists() { xl domid "$1" >/dev/null 2>&1; }
# guest_gone NAME SECS: wait for the domain to disappear; destroy it if it does not (xl's monitor
# can be slow to reap under TCG: XEN-IN-QEMU.md pitfall 6). Returns 0 if it went away by itself
# or was only left in the shut-down state.
guest_gone() {
	local g lim end st
	g=$1 lim=$2
	end=$((SECONDS + lim))
	while [ $SECONDS -lt $end ]; do
		guest_exists "$g" || return 0
		st=$(xl list "$g" 2>/dev/null | awk 'NR==2{print $5}')
		case "$st" in *s*)
			info "$g is shut down but not reaped: xl destroy"
			xl destroy "$g" 2>&1
			guest_exists "$g" || return 0 ;;
		esac
		sleep 0.5
	done
	info "$g still there after ${lim}s: xl destroy"
	xl destroy "$g" 2>&1
	return 1
}
guest_destroy() {
	local n
	guest_exists "$1" || return 0
	run xl destroy "$1"
	n=0
	while guest_exists "$1" && [ $n -lt 40 ]; do sleep 0.5; n=$((n + 1)); done
	! guest_exists "$1"
}
# the vbd backend of a guest's vdev: /local/domain/0/backend/vbd/DOMID/DEVID
vbd_backend() { # NAME DEVID
	local d p
	d=$(guest_domid "$1") || return 1
	p=/local/domain/0/backend/vbd/$d/$2
	xenstore-read $p/params >/dev/null 2>&1 || return 1
	echo "$p"
}
# every vbd backend left in xenstore, as DOMID/DEVID
vbd_left() {
	local d v
	for d in $(xenstore-list /local/domain/0/backend/vbd 2>/dev/null); do
		for v in $(xenstore-list /local/domain/0/backend/vbd/$d 2>/dev/null); do
			echo "$d/$v"
		done
	done
}

# ---- markers on disks: dom0 writes at (end - 1 MiB), a guest writes at (end - 512 KiB)
disk_sectors() { # a block device, or an image file
	if [ -b "$1" ]; then blockdev --getsz "$1"; else echo $(($(stat -L -c %s "$1") / 512)); fi
}
mark_write() { # DEV TEXT
	local s
	s=$(disk_sectors "$1") || return 1
	printf '%s\n' "$2" | dd of="$1" bs=512 seek=$((s - 2048)) count=1 conv=notrunc,sync,fsync 2>/dev/null
}
mark_read() { # DEV [guest]: the printable text of the marker sector
	local s off
	s=$(disk_sectors "$1") || return 1
	off=$((s - 2048))
	[ "${2:-}" = guest ] && off=$((s - 1024))
	blockdev --flushbufs "$1" 2>/dev/null
	dd if="$1" bs=512 skip=$off count=1 2>/dev/null | head -c 80 | tr -c 'A-Za-z0-9 _:.=-' '\n' | head -n 1
}
dm_vd_devices() { dmsetup ls 2>/dev/null | awk '$1 ~ /^vd-/{print $1}'; }
# the attachments of VD $1 as "DOMID VDEV MODE" lines (from xl-vd show)
vd_attachments() { "$XL_VD" show "$1" 2>/dev/null | awk '$1 == "domain" {print $2, $3, $7}'; }

# ---- timed lifecycle operations
# each line of stdin prefixed with bash's $EPOCHREALTIME (a builtin: no fork per line)
stamp_lines() { local l; while IFS= read -r l; do echo "$EPOCHREALTIME $l"; done; }
secs_between() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b - a}'; }
# xl_migrate_timed NAME LOG [-vvv]: same-host live migration (xl migrate -s "" NAME
# "xl migrate-receive", XEN-IN-QEMU.md), every line xl and libxl print stamped into LOG as it
# arrives. Prints "TOTAL PAUSED": the whole command, and (with -vvv, whose debug lines show the
# suspend) the guest's pause: from libxl's suspend request to the guest (sender) to "Domain
# started" (receiver, after it unpaused the new domain), "?" without. Returns xl's status.
xl_migrate_timed() {
	local g=$1 log=$2 v=${3:-} t0 t1 rc ts te
	t0=$EPOCHREALTIME
	{ xl $v migrate -s "" "$g" "xl $v migrate-receive" 2>&1; echo "xl-exit $?"; } |
		stamp_lines >"$log"
	t1=$EPOCHREALTIME
	rc=$(awk '$2 == "xl-exit" {print $3}' "$log")
	ts=$(grep -a -m1 -iE 'suspend request|suspending domain' "$log" | cut -d' ' -f1)
	te=$(grep -a -m1 'Domain started succ' "$log" | cut -d' ' -f1)
	echo "$(secs_between "$t0" "$t1") $([ -n "$ts" ] && [ -n "$te" ] && secs_between "$ts" "$te" || echo ?)"
	return "${rc:-1}"
}
# xl-vd create SIZE [ARGS]: prints the new id (the last number xl-vd printed)
vd_create() {
	local out rc
	out=$("$XL_VD" create "$@" 2>&1)
	rc=$?
	echo "+ xl-vd create $* -> $out" >&2
	[ $rc -eq 0 ] || return 1
	echo "$out" | grep -oE '[0-9]+' | tail -n 1
}

# e2e_run_steps NAME:LIMIT...: every step in order, or only those of $E2E_STEPS (XENVD_E2E_STEPS on
# the host), in that order, with their limits (300 s for a step not in the list)
e2e_run_steps() {
	local sel w lim s
	sel="$*"
	if [ -n "$E2E_STEPS" ]; then
		sel=""
		for w in $E2E_STEPS; do
			lim=300
			for s in "$@"; do [ "${s%%:*}" = "$w" ] && lim=${s##*:}; done
			sel="$sel $w:$lim"
		done
	fi
	for s in $sel; do
		e2e_step "${s%%:*}" "${s##*:}"
	done
}

# ---- the two-host bed (shared.sh): devices found by name, not by their place
# a virtio-serial port by its name (-device virtserialport,name=NAME): /dev/vportNpM
vport_by_name() {
	local f
	for f in /sys/class/virtio-ports/*/name; do
		[ -f "$f" ] && [ "$(cat "$f")" = "$1" ] || continue
		f=${f%/name}
		echo "/dev/${f##*/}"
		return 0
	done
	return 1
}
# a virtio disk by its serial (-device virtio-blk-pci,serial=NAME): /dev/vdX
disk_by_serial() {
	local f
	for f in /sys/block/vd*/serial; do
		[ -f "$f" ] && [ "$(cat "$f")" = "$1" ] || continue
		f=${f%/serial}
		echo "/dev/${f##*/}"
		return 0
	done
	return 1
}
