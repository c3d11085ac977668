#!/usr/bin/env bash
# make bench-uploads: 50 concurrent 2 MB document uploads (tus, 256 KB chunks with a SHA-256
# per chunk, encrypted at rest) on loopback against a durable cluster; aggregate throughput
# and the server's RSS (VmRSS, sampled every 50 ms) before, during and after. Run twice,
# with 2 MB and 8 MB files, to show that memory does not grow with file size.
set -euo pipefail
cd "$(dirname "$0")/../.."
export MITAN_DATA=${BENCH_DATA:-/tmp/mitan-bench-uploads}
export MITAN_ENV=dev MITAN_LOG_LEVEL=warn MITAN_PORT=${BENCH_PORT:-18710} MITAN_PG_PORT=${BENCH_PG_PORT:-18711}
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	ops/pg.sh destroy >/dev/null 2>&1 || true
	rm -rf "$MITAN_DATA"
}
trap cleanup EXIT
rm -rf "$MITAN_DATA"
mkdir -p "$MITAN_DATA"
chmod 755 "$MITAN_DATA"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
ops/pg.sh start 2>&1 | tail -1
bin/mitan migrate >/dev/null 2>&1
bin/mitan seed --demo >/dev/null 2>&1
bin/mitan serve >"$MITAN_DATA/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$MITAN_PORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
export MITAN_URL="http://127.0.0.1:$MITAN_PORT" SERVER_PID=$server_pid
for size in ${BENCH_SIZES:-2 8}; do
	BENCH_FILE_MB=$size node tests/bench/uploads.mjs
done
