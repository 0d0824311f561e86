#!/usr/bin/env bash
# Starts a trial set on this machine: a PostgreSQL server with the shared store, N Omnigate
# gateways on it, and Kamailio in front spreading calls over them (Config/kamailio.cfg).
# Everything lives in one directory and stops with Ctrl-C (or SIGTERM); nothing is installed.
#
#   scripts/cluster.sh [--gateways N] [--port PORT] [--dir DIR] [--dialplans DIR] [--help]
#     --gateways N     gateways to start (default 3); gateway i listens on 127.0.0.1:PORT+i (UDP)
#                      and serves its HTTP API on 127.0.0.1:8080+i
#     --port PORT      where Kamailio listens, 127.0.0.1:PORT UDP (default 5060): send calls here
#     --dir DIR        the set's directory (default var/cluster): PostgreSQL's data and socket,
#                      each gateway's configuration and log, Kamailio's list and log
#     --dialplans DIR  the gateways' dialplans (default Dialplans/)
# Needs scripts/setup.sh to have run (PostgreSQL, Kamailio) and `swift build` (the omnigate binary).
set -euo pipefail

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
GATEWAYS=3
PORT=5060
DIR=$ROOT/var/cluster
DIALPLANS=$ROOT/Dialplans
while [ $# -gt 0 ]; do
    case "$1" in
        --gateways) GATEWAYS=$2; shift 2 ;;
        --port) PORT=$2; shift 2 ;;
        --dir) DIR=$2; shift 2 ;;
        --dialplans) DIALPLANS=$(cd "$2" && pwd); shift 2 ;;
        *) echo "cluster: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $GATEWAYS =~ ^[1-9][0-9]?$ ]] || { echo "cluster: --gateways takes 1 to 99" >&2; exit 2; }

say() { echo "[cluster] $*" >&2; }
fail() { echo "[cluster] error: $1" >&2; [ -n "${2:-}" ] && echo "[cluster]   what to do: $2" >&2; exit 1; }

# The newest build of omnigate, release or debug.
OMNIGATE=$(ls -t "$ROOT/.build/release/omnigate" "$ROOT/.build/debug/omnigate" 2>/dev/null | head -1 || true)
[ -n "$OMNIGATE" ] && [ -x "$OMNIGATE" ] || fail "the omnigate binary is not built" "run: swift build -c release --product omnigate"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PG_BIN" ] || fail "PostgreSQL is not installed" "run scripts/setup.sh"
command -v kamailio >/dev/null || [ -x /usr/sbin/kamailio ] || fail "Kamailio is not installed" "run scripts/setup.sh"

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
# PostgreSQL refuses to run as root: as root, the server runs as the postgres user.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

PIDS=()
stop_all() {
    trap - INT TERM EXIT
    say "stopping"
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    say "stopped; the store stays in $DIR/pg (start again to reuse it, delete the directory to begin anew)"
    exit 0
}
trap stop_all INT TERM EXIT

# ---------------------------------------------------------------- PostgreSQL
SOCKET=$DIR/pg/run
if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$DIR"; then
    fail "the postgres user cannot reach $DIR (PostgreSQL runs as postgres when started by root)" \
         "choose a --dir whose parent directories others may enter (chmod o+x), e.g. under /var or /tmp"
fi
if [ ! -d "$DIR/pg/data" ]; then
    say "PostgreSQL: a new cluster in $DIR/pg"
    mkdir -p "$SOCKET"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$DIR/pg"
    as_pg "$PG_BIN/initdb" -D "$DIR/pg/data" -U omnigate --auth=trust -E UTF8 --locale=C.UTF-8 >"$DIR/pg/initdb.log" 2>&1 \
        || fail "initdb failed" "see $DIR/pg/initdb.log"
fi
as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/server.log" -w -t 30 \
    -o "-k $SOCKET -c listen_addresses='' -c max_connections=200" start >/dev/null \
    || fail "PostgreSQL did not start" "see $DIR/pg/server.log"
as_pg "$PG_BIN/psql" -h "$SOCKET" -U omnigate -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = 'omnigate'" | grep -q 1 \
    || as_pg "$PG_BIN/psql" -h "$SOCKET" -U omnigate -d postgres -qc "CREATE DATABASE omnigate"
STORE="postgresql://omnigate@/omnigate?host=$SOCKET"
say "PostgreSQL: $STORE"

# ---------------------------------------------------------------- gateways
# RTP ports 20000-59999 shared out: two a call, so 2,000 calls a gateway with up to ten gateways.
RTP_RANGE=$(( 40000 / GATEWAYS / 2 * 2 ))
[ "$RTP_RANGE" -gt 4000 ] && RTP_RANGE=4000
: >"$DIR/dispatcher.list"
for i in $(seq 1 "$GATEWAYS"); do
    G=$DIR/gateway-$i
    mkdir -p "$G"
    cat >"$G/omnigate.conf" <<EOF
; gateway $i of the trial set made by scripts/cluster.sh
[general]
system_name = gw$i
[sip]
udp = 127.0.0.1:$((PORT + i))
tcp = 127.0.0.1:0
rtp_port_start = $((20000 + (i - 1) * RTP_RANGE))
rtp_port_range = $RTP_RANGE
[trunk kamailio]
match = 127.0.0.1
context = from-trunk
[store]
backend = postgresql
connection = $STORE
spill = $G
[dialplan]
path = $DIALPLANS
[http]
listen = 127.0.0.1:$((8080 + i))
EOF
    "$OMNIGATE" run --config "$G/omnigate.conf" >"$G/gateway.log" 2>&1 &
    PIDS+=($!)
    echo "1 sip:127.0.0.1:$((PORT + i))" >>"$DIR/dispatcher.list"
done
for i in $(seq 1 "$GATEWAYS"); do
    for _ in $(seq 1 100); do
        grep -q "omnigate: ready" "$DIR/gateway-$i/gateway.log" 2>/dev/null && break
        kill -0 "${PIDS[$((i - 1))]}" 2>/dev/null || fail "gateway $i stopped at start" "see $DIR/gateway-$i/gateway.log"
        sleep 0.1
    done
    grep -q "omnigate: ready" "$DIR/gateway-$i/gateway.log" || fail "gateway $i is not ready after 10 s" "see $DIR/gateway-$i/gateway.log"
    say "gateway $i: sip:127.0.0.1:$((PORT + i)), HTTP 127.0.0.1:$((8080 + i)), log $DIR/gateway-$i/gateway.log"
done

# ---------------------------------------------------------------- Kamailio
KAMAILIO=$(command -v kamailio || echo /usr/sbin/kamailio)
"$KAMAILIO" -f "$ROOT/Config/kamailio.cfg" -DD -E -l "udp:127.0.0.1:$PORT" -Y "$DIR" \
    -A "DISPATCHER_LIST=\"$DIR/dispatcher.list\"" >"$DIR/kamailio.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "udp_server" "$DIR/kamailio.log" 2>/dev/null && break; sleep 0.1; done
kill -0 "${PIDS[-1]}" 2>/dev/null || fail "Kamailio stopped at start" "see $DIR/kamailio.log (is port $PORT taken?)"
say "Kamailio: sip:127.0.0.1:$PORT in front of $GATEWAYS gateways, log $DIR/kamailio.log"
say "ready: call sip:100@127.0.0.1:$PORT; Ctrl-C stops everything"
wait -n "${PIDS[@]}" || true
say "a process of the set ended on its own: stopping the rest"
