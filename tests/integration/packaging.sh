#!/bin/sh
# What the Debian package ships agrees with the code: the sample /etc/xen/xenvd.conf names
# every key the parser knows with the default README documents, parses once uncommented, and
# debian/changelog carries configure.ac's version (the .deb's name comes from it).
. "$top_srcdir/tests/integration/lib.sh"

sample=$top_srcdir/doc/xenvd.conf
# keys the parser accepts: the strcmp(key, "...") of the file defining vd_config_load()
parser=$(grep -rl --include='*.c' '^int vd_config_load(' "$top_srcdir/plugin" | head -n1)
[ -n "$parser" ] || fail "no definition of vd_config_load() under plugin/ (renamed?)"
sed -n 's/.*strcmp(key, "\([a-z_]*\)").*/\1/p' ${parser:-/dev/null} | sort -u >"$WORK/keys.code"
# "#key = value" lines of the sample, and README's indented "key = value" block
sed -n 's/^#\([a-z_]*\) *= *\([^ #]*\).*/\1 \2/p' "$sample" | sort >"$WORK/sample"
sed -n '/^Configuration$/,/^Building/s/^    \([a-z_]*\) *= *\([^ #]*\).*/\1 \2/p' "$top_srcdir/README" |
	sort >"$WORK/readme"
[ -s "$WORK/keys.code" ] || fail "no strcmp(key, \"...\") in $parser: how does the parser name its keys now?"
cut -d' ' -f1 "$WORK/sample" >"$WORK/keys.sample"
if cmp -s "$WORK/keys.code" "$WORK/keys.sample"; then
	pass "doc/xenvd.conf names the parser's $(wc -l <"$WORK/keys.code") keys"
else
	fail "doc/xenvd.conf keys differ from the parser's ($parser): $(diff "$WORK/keys.code" "$WORK/keys.sample" | grep '^[<>]' | tr '\n' ' ')"
fi
if cmp -s "$WORK/sample" "$WORK/readme"; then
	pass "doc/xenvd.conf's defaults are README's"
else
	fail "doc/xenvd.conf and README's configuration differ: $(diff "$WORK/readme" "$WORK/sample" | grep '^[<>]' | tr '\n' ' ')"
fi

# Uncommented, the sample is a valid configuration (its database line points elsewhere here).
sed -e 's/^#\([a-z_]* *=\)/\1/' -e "s|^database *=.*|database = $WORK/conf.db|" "$sample" >"$WORK/xenvd.conf"
unset XENVD_DB
make_device "$WORK/pool.img" 256M
expect_ok xl-vd format "$WORK/pool.img" && [ -f "$WORK/conf.db" ] &&
	pass "xl-vd formats a pool with the uncommented sample (database key honoured)"
sed 's/^extent_size/extent_sise/' "$WORK/xenvd.conf" >"$WORK/bad.conf"
expect_fail "unknown key 'extent_sise'" xl-vd --conf "$WORK/bad.conf" list

# debian/changelog's version is configure's
ver=$(sed -n '1s/^xenvd (\([^)]*\)).*/\1/p' "$top_srcdir/debian/changelog")
conf=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$top_builddir/config.h")
if [ -n "$ver" ] && [ "$ver" = "$conf" ]; then
	pass "debian/changelog is at configure's version $conf"
else
	fail "debian/changelog is at '$ver' but configure.ac at '$conf': add a changelog entry"
fi
finish
