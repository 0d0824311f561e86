#!/usr/bin/env bash
# Installs everything Omnigate needs on Debian bookworm, idempotently:
#   1. the Debian packages it builds with and tests against;
#   2. libpjproject, built from Debian's own pjproject source (bookworm has no
#      libpjproject-dev) with a config_site.h sized for a gateway and the
#      patches in scripts/pjproject/patches, installed as shared libraries
#      under /usr/local with libpjproject.pc;
#   3. the voice prompts, generated with espeak-ng and sox.
# A second run skips every step already done. The README commands call this;
# nobody needs to run it by hand.
#
#   scripts/setup.sh [--help]
#   env: OMNIGATE_PREFIX=/usr/local   where libpjproject is installed
#        OMNIGATE_CACHE=/var/cache/omnigate   downloads and the build tree
set -euo pipefail

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

PREFIX=${OMNIGATE_PREFIX:-/usr/local}
CACHE=${OMNIGATE_CACHE:-/var/cache/omnigate}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T0=$(date +%s)

say() { echo "[setup +$(( $(date +%s) - T0 ))s] $*" >&2; }
fail() { echo "[setup] error: $1" >&2; [ -n "${2:-}" ] && echo "[setup]   what to do: $2" >&2; exit 1; }

SUDO=
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || fail "not root and no sudo" "run scripts/setup.sh as root once"
    SUDO=sudo
fi

# ---------------------------------------------------------------- 1. Debian packages
# Build: C toolchain and the libraries that replace pjproject's stripped third-party code.
# Store: SQLite, and PostgreSQL (libpq to build; the server for tests, which start their own).
# Several gateways: Kamailio in front (scripts/cluster.sh and the multi-gateway test start their own). Service: libsystemd (sd_notify), systemd (systemd-analyze verify of the unit).
# HTTP API: libmicrohttpd (with its TLS), OpenSSL's libcrypto (token hashes); curl for tests.
# Tests and benchmarks: SIPp, baresip, sox/espeak-ng (prompts), sqlite3 CLI, openssl (test
# certificates), tshark (what crosses the wire), e2fsprogs (chattr), util-linux (mount, prlimit).
# Agent console: Chart.js (served by the gateway from /usr/share/javascript/chart.js); its browser
# tests drive headless Chromium through chromedriver with Selenium, and need a font for screenshots.
PACKAGES=(
    build-essential pkg-config xz-utils bzip2 dpkg-dev ca-certificates
    libsrtp2-dev libgsm1-dev libspeex-dev libspeexdsp-dev libssl-dev libopus-dev
    uuid-dev libsamplerate0-dev libsqlite3-dev sqlite3 libsystemd-dev systemd libmicrohttpd-dev curl libphonenumber-dev
    libpq-dev postgresql kamailio
    sip-tester baresip-core espeak-ng sox procps iproute2 python3 python3-venv patch openssl tshark e2fsprogs util-linux
    libjs-chart.js chromium chromium-driver python3-selenium fonts-dejavu-core
)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq || fail "apt-get update failed" "check the network path to the Debian mirror in /etc/apt/sources.list.d"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || fail "apt-get install ${missing[*]} failed" "run the same apt-get install by hand to see why"
else
    say "Debian packages: all ${#PACKAGES[@]} present"
fi
# The packages' own services are not Omnigate's: a system Kamailio would hold port 5060, which the
# gateway's default configuration listens on. Tests and scripts/cluster.sh start their own.
for service in kamailio; do
    if command -v systemctl >/dev/null && systemctl is-active --quiet "$service" 2>/dev/null; then
        say "stopping and disabling the $service service (it holds port 5060; scripts/cluster.sh runs its own)"
        $SUDO systemctl disable --now "$service" >/dev/null 2>&1 || true
    fi
done

# Debian ships pjproject only inside the asterisk source package (sid), as the
# component tarball *.orig-Xpjproject.tar.xz. A private apt directory fetches it
# without touching the system's sources. The same package carries Asterisk's
# sample dialplan, which the dialplan tests parse.
APT="$CACHE/apt-sid"
DL="$CACHE/dl"
fetch_asterisk_source() {
    ls "$DL"/asterisk_*orig-Xpjproject.tar.xz >/dev/null 2>&1 && ls "$DL"/asterisk_*orig.tar.xz >/dev/null 2>&1 && return 0
    $SUDO mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/sources.list.d" "$DL"
    local mirror
    mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$mirror" ] || fail "cannot find the Debian mirror apt uses" "check /etc/apt/sources.list.d/debian.sources"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror sid main" | $SUDO tee "$APT/sources.list" >/dev/null
    local opts=(-o Dir::State::Lists="$APT/lists" -o Dir::Cache="$APT/cache" -o APT::Sandbox::User=root
                -o Dir::Etc::SourceList="$APT/sources.list" -o Dir::Etc::SourceParts="$APT/sources.list.d")
    say "downloading Debian's asterisk source package (it carries pjproject) from $mirror sid"
    $SUDO apt-get "${opts[@]}" update -qq || fail "apt-get update of the sid source index failed" "check that $mirror is reachable"
    (cd "$DL" && $SUDO apt-get "${opts[@]}" source --download-only asterisk >/dev/null) \
        || fail "apt-get source --download-only asterisk failed" "check that $mirror is reachable and has sid sources"
}

# ---------------------------------------------------------------- 2. libpjproject
# The build options and config_site.h below are hashed into the stamp, so changing
# either rebuilds; an unchanged second run only checks the stamp.
CONFIGURE_OPTS=(
    --prefix="$PREFIX" --enable-shared --enable-epoll
    --disable-sound --disable-video --disable-pjsua2 --disable-upnp
    --disable-libwebrtc --disable-libyuv --disable-vpx --disable-openh264
    --disable-ffmpeg --disable-sdl --disable-v4l2 --disable-opencore-amr
    --disable-ilbc-codec --disable-g7221-codec --disable-bcg729
    --disable-lyra --disable-silk --disable-resample --enable-libsamplerate
    --with-external-srtp --with-external-gsm --with-external-speex
)
CONFIG_SITE="$ROOT/scripts/pjproject/config_site.h"
[ -f "$CONFIG_SITE" ] || fail "missing $CONFIG_SITE" "restore it from git"
# Small changes to pjproject's own code, applied in name order (each says why).
PATCHES=("$ROOT"/scripts/pjproject/patches/*.patch)
[ -e "${PATCHES[0]}" ] || PATCHES=()
BUILD_ID=$( { echo "${CONFIGURE_OPTS[*]}"; cat "$CONFIG_SITE"; [ ${#PATCHES[@]} -eq 0 ] || cat "${PATCHES[@]}"; } | sha256sum | cut -c1-16)
STAMP="$PREFIX/lib/omnigate-pjproject.stamp"

if [ -f "$STAMP" ] && grep -q "build=$BUILD_ID" "$STAMP" && pkg-config --exists libpjproject; then
    say "libpjproject: $(cat "$STAMP") already installed, skipping the build"
else
    $SUDO mkdir -p "$CACHE"
    fetch_asterisk_source
    TARBALL=$(ls "$DL"/asterisk_*orig-Xpjproject.tar.xz | sort -V | tail -1)
    [ -f "$TARBALL" ] || fail "no *orig-Xpjproject.tar.xz in $DL" "delete $DL and run again"
    SRC="$CACHE/pjproject"
    say "unpacking $(basename "$TARBALL")"
    $SUDO rm -rf "$SRC"; $SUDO mkdir -p "$SRC"
    $SUDO tar -xJf "$TARBALL" -C "$SRC" --strip-components=1 || fail "cannot unpack $TARBALL" "delete $DL and run again"
    [ -f "$SRC/version.mak" ] || fail "$TARBALL has no version.mak" "delete $DL and run again"
    PJVER=$(awk '$1=="export" && $2=="PJ_VERSION_MAJOR"{ma=$4} $1=="export" && $2=="PJ_VERSION_MINOR"{mi=$4} $1=="export" && $2=="PJ_VERSION_REV"{re=$4} END{printf "%s.%s%s", ma, mi, (re=="" ? "" : "." re)}' "$SRC/version.mak")
    # The DFSG tree lacks bdimad_dev.c while the makefile still lists its object.
    $SUDO sed -i 's/ bdimad_dev\.o//' "$SRC/pjmedia/build/Makefile"
    $SUDO cp "$CONFIG_SITE" "$SRC/pjlib/include/pj/config_site.h"
    for patch in "${PATCHES[@]}"; do
        $SUDO patch -d "$SRC" -p1 --forward --quiet < "$patch" || fail "cannot apply $(basename "$patch") to pjproject $PJVER" "update the patch for this pjproject version"
    done
    LOG="$CACHE/pjproject-build.log"
    say "building pjproject $PJVER (about a minute on 2 cores; log: $LOG)"
    (
        cd "$SRC"
        export CFLAGS="-O2 -g -DNDEBUG -fPIC"
        ./configure "${CONFIGURE_OPTS[@]}"
        make dep
        make -j"$(nproc)"
    ) >"$LOG" 2>&1 || { tail -30 "$LOG" >&2; fail "pjproject $PJVER did not build" "read $LOG"; }
    say "installing pjproject $PJVER into $PREFIX"
    (cd "$SRC" && $SUDO make install) >>"$LOG" 2>&1 || { tail -30 "$LOG" >&2; fail "make install failed" "read $LOG"; }
    $SUDO ldconfig
    pkg-config --exists libpjproject || fail "libpjproject.pc not found after install" "check that $PREFIX/lib/pkgconfig is on pkg-config's path"
    echo "pjproject=$PJVER build=$BUILD_ID" | $SUDO tee "$STAMP" >/dev/null
    say "libpjproject $PJVER installed"
fi

# ---------------------------------------------------------------- 3. Asterisk's own dialplans and names
# Not committed (they are Asterisk's files): the dialplan tests read them from here
# when present, and skip, saying so, when not. From Debian's asterisk source tarball:
# the sample and basic-pbx dialplans, and the lists of every dialplan application
# and function Asterisk documents or registers, which Omnigate's catalogue is held to.
ASTERISK_DIR="$CACHE/asterisk"
SAMPLE="$ASTERISK_DIR/extensions.conf.sample"
BASIC_PBX="$ASTERISK_DIR/basic-pbx/extensions.conf"
NAMES="$ASTERISK_DIR/names.txt"
if [ ! -s "$SAMPLE" ] || [ ! -s "$BASIC_PBX" ] || [ ! -s "$NAMES" ]; then
    fetch_asterisk_source
    ORIG=$(ls "$DL"/asterisk_*orig.tar.xz | sort -V | tail -1)
    $SUDO mkdir -p "$ASTERISK_DIR/basic-pbx"
    tar -xJOf "$ORIG" --wildcards '*/configs/samples/extensions.conf.sample' | $SUDO tee "$SAMPLE" >/dev/null \
        || fail "cannot extract extensions.conf.sample from $ORIG" "delete $DL and run again"
    tar -xJOf "$ORIG" --wildcards '*/configs/basic-pbx/extensions.conf' | $SUDO tee "$BASIC_PBX" >/dev/null \
        || fail "cannot extract basic-pbx/extensions.conf from $ORIG" "delete $DL and run again"
    # Applications: every <application name="…"> of the documentation, and those registered
    # with ast_register_application(app_x, …) from a variable; functions: every <function
    # name="…">, and the .name of every struct ast_custom_function.
    tar -xJOf "$ORIG" --wildcards '*.c' '*.xml' | awk '
        function quoted(text,   s) { s = text; sub(/^[^"]*"/, "", s); sub(/".*$/, "", s); return s }
        match($0, /<application name="[^"]+"/) { print "application " quoted(substr($0, RSTART, RLENGTH)) }
        match($0, /<function name="[^"]+"/) { print "function " quoted(substr($0, RSTART, RLENGTH)) }
        match($0, /char \*app_[a-z0-9_]+ = "[^"]+"/) { s = substr($0, RSTART, RLENGTH); v = s; sub(/^char \*/, "", v); sub(/ .*$/, "", v); names[v] = quoted(s) }
        match($0, /ast_register_application\(app_[a-z0-9_]+,/) { v = substr($0, RSTART + 25, RLENGTH - 26); if (v in names) print "application " names[v] }
        /struct ast_custom_function [a-z_0-9]+ = \{/ { pending = 4; next }
        pending > 0 { pending--; if (match($0, /\.name = "[^"]+"/)) { print "function " quoted(substr($0, RSTART, RLENGTH)); pending = 0 } }
    ' | sort -u | $SUDO tee "$NAMES" >/dev/null || fail "cannot list Asterisk's applications and functions from $ORIG" "delete $DL and run again"
    say "Asterisk's dialplans and names: $ASTERISK_DIR"
fi

# ---------------------------------------------------------------- 4. voice prompts
"$ROOT/scripts/make-prompts.sh"

# ---------------------------------------------------------------- 5. test tools from PyPI
# openapi-spec-validator checks the API's OpenAPI document in the tests; it is not in Debian,
# so it lives in a virtual environment of its own (the system Python is left alone).
VENV="$CACHE/venv"
if "$VENV/bin/python" -c "import openapi_spec_validator" 2>/dev/null; then
    say "test tools: present in $VENV"
else
    $SUDO /usr/bin/python3 -m venv "$VENV" || fail "cannot make a Python virtual environment in $VENV" "install python3-venv"
    $SUDO "$VENV/bin/pip" install --quiet --disable-pip-version-check "openapi-spec-validator==0.7.1" \
        || fail "pip install openapi-spec-validator failed" "check that PyPI is reachable"
    say "test tools: openapi-spec-validator in $VENV"
fi

say "setup complete"
