#!/usr/bin/env bash
# Adds the Asterisk modules the whole-path benchmark needs (Dial and bridging)
# to the Asterisk that ../shared/peers/asterisk/build.sh built, by enabling them
# in its build tree and rebuilding only what changed. Idempotent.
#
#   Benchmarks/asterisk-extend.sh [--help]
#   env: ASTERISK_WORK=${TMPDIR:-/tmp}/peer-asterisk   (build.sh's WORK and its default)
set -euo pipefail
if [ "${1:-}" = "--help" ]; then sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi
WORK=${ASTERISK_WORK:-${TMPDIR:-/tmp}/peer-asterisk}
PREFIX=$WORK/install
SRC=$WORK/src
NEEDED="app_dial bridge_simple bridge_native_rtp bridge_builtin_features func_cdr"
missing=""
for m in $NEEDED; do [ -f "$PREFIX/lib/asterisk/modules/$m.so" ] || missing="$missing $m"; done
if [ -z "$missing" ]; then echo "[asterisk-extend] modules present: $NEEDED" >&2; exit 0; fi
[ -d "$SRC" ] || { echo "[asterisk-extend] error: no build tree at $SRC; run ../shared/peers/asterisk/build.sh first" >&2; exit 1; }
cd "$SRC"
echo "[asterisk-extend] enabling:$missing" >&2
for m in $missing; do menuselect/menuselect --enable "$m" menuselect.makeopts >/dev/null; done
if grep '^MENUSELECT_CFLAGS' menuselect.makeopts | grep -q BUILD_NATIVE; then menuselect/menuselect --disable BUILD_NATIVE menuselect.makeopts; fi
export DEB_BUILD_MAINT_OPTIONS=hardening=+all DEB_CFLAGS_MAINT_STRIP=-O2 DEB_CFLAGS_MAINT_APPEND="-O3 -fno-partial-inlining"
eval "$(dpkg-buildflags --export=sh)"
export CFLAGS="$CFLAGS $CPPFLAGS" LDFLAGS="$LDFLAGS -Wl,--as-needed"
PJDIR=$SRC/debian/build-pjproject
TMPDIR="$PJDIR" PATH="$PATH:$SRC/debian/dummyprogs" make -j"$(nproc)" AST_FORTIFY_SOURCE= DEBUG= OPTIMIZE= >"$WORK/build-logs/extend-make.log" 2>&1 \
    || { tail -40 "$WORK/build-logs/extend-make.log" >&2; exit 1; }
for m in $missing; do
    find . -name "$m.so" -path "*/$(echo "$m" | cut -d_ -f1)*" -exec install -m 0755 {} "$PREFIX/lib/asterisk/modules/" \;
done
for m in $NEEDED; do [ -f "$PREFIX/lib/asterisk/modules/$m.so" ] || { echo "[asterisk-extend] error: $m.so was not built" >&2; exit 1; }; done
echo "[asterisk-extend] installed:$missing" >&2
