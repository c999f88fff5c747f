#!/bin/sh
# /init of the test bed's PV guests (busybox only). Parameters on the kernel command line:
#   e2e.name=NAME        printed in every line ("E2E-GUEST NAME ...")
#   e2e.origin=TEXT      printed at boot (a grub.cfg on a VD sets it: proves which entry booted)
#   e2e.expect=xvda,...  disks to wait for (15 s) before the first report
#   e2e.write=xvda,...   disks to write "GUESTMARK NAME DEV N" to (at end - 512 KiB), every second
#   e2e.life=SECS        how long to keep watching disks appear/disappear before powering off
#   e2e.tick=1           after each round of writes, read every written marker back from the disk
#                        and print "TICK N up=UPTIME" when all of them read back (liveness and I/O
#                        across migration, save/restore)
#   e2e.crash=SECS       crash the kernel (sysrq c) after SECS
#   e2e.control=DEV      read dom0's marker on DEV every round: "E2E-CRASH" crashes the kernel
#   e2e.period=SECS      seconds between rounds (default 1)
# A reboot request (xl reboot: the kernel sends init SIGINT) reboots at once.
# Reports each disk as it appears: size, read-only flag, and the marker dom0 wrote (end - 1 MiB).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
name=guest origin=none expect="" write="" life=0 tick=0 crash="" control="" period=1
for w in $(cat /proc/cmdline); do
	case "$w" in
	e2e.name=*) name=${w#*=} ;;
	e2e.origin=*) origin=${w#*=} ;;
	e2e.expect=*) expect=$(echo "${w#*=}" | tr ',' ' ') ;;
	e2e.write=*) write=$(echo "${w#*=}" | tr ',' ' ') ;;
	e2e.life=*) life=${w#*=} ;;
	e2e.tick=*) tick=${w#*=} ;;
	e2e.crash=*) crash=${w#*=} ;;
	e2e.control=*) control=${w#*=} ;;
	e2e.period=*) period=${w#*=} ;;
	esac
done
say() { echo "E2E-GUEST $name $*"; }
trap 'say REBOOTING; sync; reboot -f' INT
say "BOOTED initrd=$(cat /origin) origin=$origin kernel=$(uname -r)"
modprobe xen-blkfront 2>/dev/null || say "modprobe xen-blkfront failed"
for d in $expect; do
	n=0
	while [ ! -e /sys/block/$d ] && [ $n -lt 30 ]; do sleep 0.5; n=$((n + 1)); done
	[ -e /sys/block/$d ] || say "MISSING $d"
done
report() {
	sz=$(cat /sys/block/$1/size)
	dd if=/dev/$1 of=/tmp/mark bs=512 skip=$((sz - 2048)) count=1 2>/dev/null ||
		say "READ-FAILED $1"
	mark=""
	IFS= read -r mark </tmp/mark
	case "$mark" in *[!A-Za-z0-9\ _:.=-]*) mark="(unprintable)" ;; esac
	say "DISK $1 size=$((sz * 512)) ro=$(cat /sys/block/$1/ro) mark=[$mark]"
}
start=$(cut -d. -f1 /proc/uptime)
seen=""
wrote=""
n=0
while :; do
	n=$((n + 1))
	for s in /sys/block/xvd*; do
		[ -e "$s" ] || continue
		d=${s##*/}
		case " $seen " in *" $d "*) ;; *) report "$d"; seen="$seen $d" ;; esac
	done
	still=""
	for d in $seen; do
		if [ -e /sys/block/$d ]; then still="$still $d"; else say "GONE $d"; fi
	done
	seen=$still
	round=""
	for d in $write; do
		case " $seen " in *" $d "*) ;; *) continue ;; esac
		sz=$(cat /sys/block/$d/size)
		if printf 'GUESTMARK %s %s %s\n' "$name" "$d" "$n" |
			dd of=/dev/$d bs=512 seek=$((sz - 1024)) count=1 conv=notrunc,sync,fsync 2>/dev/null; then
			case " $wrote " in *" $d "*) ;; *) say "WROTE $d n=$n"; wrote="$wrote $d" ;; esac
			round="$round $d"
		else
			say "WRITE-FAILED $d n=$n"
		fi
	done
	if [ "$tick" = 1 ] && [ -n "$round" ]; then
		ok=1
		for d in $round; do
			sz=$(cat /sys/block/$d/size)
			blockdev --flushbufs /dev/$d 2>/dev/null
			back=""
			dd if=/dev/$d of=/tmp/back bs=512 skip=$((sz - 1024)) count=1 2>/dev/null &&
				IFS= read -r back </tmp/back
			[ "$back" = "GUESTMARK $name $d $n" ] || { ok=0; say "READBACK-MISMATCH $d n=$n [$back]"; }
		done
		[ $ok = 1 ] && say "TICK $n up=$(cut -d' ' -f1 /proc/uptime)"
	fi
	[ $n -eq 1 ] && say "READY"
	order=""
	if [ -n "$control" ] && [ -e /sys/block/$control ]; then
		sz=$(cat /sys/block/$control/size)
		blockdev --flushbufs /dev/$control 2>/dev/null
		dd if=/dev/$control of=/tmp/order bs=512 skip=$((sz - 2048)) count=1 2>/dev/null &&
			IFS= read -r order </tmp/order
	fi
	if [ "$order" = E2E-CRASH ] ||
		{ [ -n "$crash" ] && [ $(( $(cut -d. -f1 /proc/uptime) - start )) -ge "$crash" ]; }; then
		say "CRASHING"
		echo c >/proc/sysrq-trigger
	fi
	[ $(( $(cut -d. -f1 /proc/uptime) - start )) -ge "$life" ] && break
	sleep "$period"
done
sync
say "POWEROFF"
poweroff -f
