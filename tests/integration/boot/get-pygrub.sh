#!/bin/sh
# Prints the root of an unpacked Debian xen-utils-4.17 + libxenmisc4.17 (pygrub and
# libxenfsimage), fetching the .debs with `apt-get download` into a cache the first time.
# Nothing is installed. Exit 1 with the reason on stderr when that is impossible.
set -eu
cache=${XENVD_PYGRUB_CACHE:-${top_builddir:-.}/tests/pygrub-cache}
root=$cache/root
if [ -x "$root/usr/lib/xen-4.17/bin/pygrub" ]; then
	echo "$root"
	exit 0
fi
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 is not installed" >&2; exit 1; }
command -v apt-get >/dev/null 2>&1 || { echo "SKIP: no apt-get to fetch xen-utils-4.17" >&2; exit 1; }
mkdir -p "$cache"
if ! (cd "$cache" && apt-get download xen-utils-4.17 libxenmisc4.17 >"$cache/download.log" 2>&1); then
	echo "SKIP: apt-get download xen-utils-4.17 libxenmisc4.17 failed: $(tail -1 "$cache/download.log")" >&2
	exit 1
fi
rm -rf "$root.tmp"
mkdir -p "$root.tmp"
for deb in "$cache"/xen-utils-4.17_*.deb "$cache"/libxenmisc4.17_*.deb; do
	dpkg-deb -x "$deb" "$root.tmp"
done
rm -rf "$root"
mv "$root.tmp" "$root"
echo "$root"
