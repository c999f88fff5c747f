#!/bin/sh
# Crash consistency of a pool that carries its own database, on a real block device: the
# kill -9 trials of xlvd_crash.sh with the first device a loop device (so format puts the
# database on it), a hot journal rolled back by the next command after every kill that left
# one. XENVD_CRASH_TRIALS=500 make check-crash-onpool-long runs more.
XENVD_CRASH_LOOP=1 exec ${SHELL:-/bin/sh} "$(dirname "$0")/xlvd_crash.sh"
