#!/usr/bin/env bash
# make bench-booking: booking throughput and latency at 64 connections on loopback against a
# durable cluster, pgbench on the same cluster in the same run, and GET /slots next to a
# trivial handler (/healthz). Prints the figures; they go in docs/BENCHMARKS.md by hand.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${BENCH_SECONDS:-15}
CONNS=${BENCH_CONNECTIONS:-64}
export MITAN_DATA=${BENCH_DATA:-/tmp/mitan-bench}
export MITAN_ENV=dev MITAN_LOG_LEVEL=warn MITAN_PORT=${BENCH_PORT:-18900}
command -v wrk >/dev/null || { echo "bench: wrk is missing: ops/install-deps.sh --test" >&2; exit 1; }
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	ops/pg.sh destroy >/dev/null 2>&1 || true
	rm -rf "$MITAN_DATA"
}
trap cleanup EXIT
[ -n "${BENCH_KEEP:-}" ] && trap - EXIT
rm -rf "$MITAN_DATA"
mkdir -p "$MITAN_DATA"
chmod 755 "$MITAN_DATA"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== durable cluster (fsync on), migrate, demo city"
ops/pg.sh start 2>&1 | tail -1
bin/mitan migrate 2>&1 | tail -1
bin/mitan seed --demo >/dev/null 2>&1
PSQL=(psql "$(cat "$MITAN_DATA/pg/conninfo")" -X -q -A -t -v ON_ERROR_STOP=1)
# Room for every booking of the run: 100 visits per agent and window.
"${PSQL[@]}" -c "UPDATE agent_window SET capacity = 100"

bin/mitan serve >"$MITAN_DATA/server.log" 2>&1 &
server_pid=$!
URL="http://127.0.0.1:$MITAN_PORT"
for _ in $(seq 1 50); do curl -fs "$URL/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

login=$(node -e 'const a=require(process.argv[1]).find(x=>x.role==="operator");console.log(JSON.stringify({login:a.login,password:a.password}))' "$MITAN_DATA/demo-accounts.json")
export MITAN_BENCH_TOKEN=$(curl -fs -H 'Content-Type: application/json' -d "$login" "$URL/api/v1/auth/login" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')

# Targets: every open window of the next 7 days at the centre of each zone.
export MITAN_BENCH_TARGETS="$MITAN_DATA/bench-targets.lua"
{
	echo "return {"
	for p in "21.28 81.59" "21.28 81.63" "21.28 81.67" "21.22 81.59" "21.22 81.63" "21.22 81.67"; do
		set -- $p
		curl -fs "$URL/api/v1/slots?service=income_certificate&lat=$1&lon=$2&days=7" |
			node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const w of JSON.parse(s))console.log(`{start="${w.start}",lat=${process.argv[1]},lon=${process.argv[2]}},`)})' "$1" "$2"
	done
	echo "}"
} >"$MITAN_BENCH_TARGETS"
echo "   $(grep -c start "$MITAN_BENCH_TARGETS") windows as targets"

echo
echo "== bookings: POST /api/v1/bookings, $CONNS connections, ${DURATION} s"
wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 10s -s tests/bench/booking.lua "$URL" | sed -n '/^requests/,$p'
echo "   overbooked windows: $("${PSQL[@]}" -c "SELECT count(*) FROM agent_window WHERE booked > capacity")"
echo "   ledger vs bookings: $("${PSQL[@]}" -c "SELECT (SELECT sum(booked) FROM agent_window) || ' units taken, ' || (SELECT count(*) FROM booking WHERE status NOT IN ('cancelled', 'rescheduled')) || ' bookings holding a unit'")"

echo
echo "== GET /api/v1/slots (7 days, a random place in the city each time), $CONNS connections, 10 s"
wrk -t2 -c"$CONNS" -d10s -s tests/bench/slots.lua "$URL" | sed -n '/^requests/,$p'
echo "== GET /api/v1/slots, the same without the availability cache (MITAN_SLOTS_CACHE_MS=0)"
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
MITAN_SLOTS_CACHE_MS=0 bin/mitan serve >>"$MITAN_DATA/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 50); do curl -fs "$URL/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
wrk -t2 -c"$CONNS" -d10s -s tests/bench/slots.lua "$URL" | sed -n '/^requests/,$p'
echo "== GET /healthz (trivial handler through the same router), $CONNS connections, 10 s"
wrk -t2 -c"$CONNS" -d10s -s tests/bench/latency.lua "$URL/healthz" | sed -n '/^requests/,$p'

kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
echo
echo "== pgbench on the same cluster (TPC-B-like, scale 10, $CONNS clients, 2 threads, ${DURATION} s)"
conn=$(cat "$MITAN_DATA/pg/conninfo")
PGB=/usr/lib/postgresql/15/bin/pgbench
"$PGB" -i -q -s 10 "$conn" >/dev/null 2>&1
"$PGB" -c "$CONNS" -j 2 -T "$DURATION" "$conn" 2>/dev/null | grep -E '^(tps|latency average)'
