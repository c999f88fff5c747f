#!/bin/bash
# The byte stream of `xl migrate` between the two hosts of the shared bed, over the virtio-serial
# port "mig" (the two QEMUs join the ports with one Unix socket; no IP anywhere).
#   sender:   xl migrate -s "" GUEST "/e2e/mig-relay.sh send"   (xl runs it with sh -c, its
#             stdin/stdout being xl's stream)
#   receiver: mig-relay.sh receive [XL-OPTIONS]   (runs `xl migrate-receive` joined to the port)
# A port can be opened only once at a time and gives no EOF: it is opened once, read and written
# through one descriptor, and the copy from it is killed when xl is done.
. /e2e/lib.sh
port=$(vport_by_name mig) || { echo "mig-relay: no virtio port named mig" >&2; exit 1; }
exec 3<>"$port" || { echo "mig-relay: cannot open $port" >&2; exit 1; }
case "${1:-}" in
send)
	cat <&3 &
	r=$!
	cat >&3 3>&-
	kill $r 2>/dev/null
	wait $r 2>/dev/null
	exit 0 ;;
receive)
	shift
	# xl's monitor, daemonized after the domain starts, keeps its stdin: give it a pipe, not the
	# port, or the port stays open (EBUSY for the next migration)
	d=$(mktemp -d /tmp/mig-relay.XXXXXX)
	mkfifo "$d/in" "$d/out"
	xl "$@" migrate-receive <"$d/in" >"$d/out" 3>&- &
	xpid=$!
	cat <&3 >"$d/in" &
	r1=$!
	cat <"$d/out" >&3 &
	r2=$!
	wait $xpid
	rc=$?
	echo "mig-relay: xl migrate-receive exited $rc"
	sleep 1
	kill $r1 $r2 2>/dev/null
	wait $r1 $r2 2>/dev/null
	rm -rf "$d"
	exit $rc ;;
*) echo "usage: mig-relay.sh send | receive [XL-OPTIONS]" >&2; exit 2 ;;
esac
