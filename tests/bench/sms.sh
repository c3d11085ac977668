#!/usr/bin/env bash
# make bench-sms: SMS outbox throughput to the fake gateway (tests/integration/fake_gateway.mjs)
# with 1 and 4 `mitan worker` processes, and the lag from commit to the gateway's receipt at a
# steady offered load, against a durable cluster (fsync on). Prints the figures; they go in
# docs/BENCHMARKS.md by hand.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${BENCH_MESSAGES:-20000}          # backlog drained for the throughput figure
RATE=${BENCH_RATE:-600}             # messages per second offered for the lag figure
SECONDS_LAG=${BENCH_LAG_SECONDS:-10}
export MITAN_DATA=${BENCH_DATA:-/tmp/mitan-bench-sms}
export MITAN_ENV=dev MITAN_LOG_LEVEL=warn MITAN_PG_PORT=${BENCH_PG_PORT:-18410}
GW_PORT=${BENCH_GATEWAY_PORT:-18411}
pids=()
gw_pid=
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	ops/pg.sh destroy >/dev/null 2>&1 || true
	rm -rf "$MITAN_DATA"
}
trap cleanup EXIT
rm -rf "$MITAN_DATA"
mkdir -p "$MITAN_DATA"
chmod 755 "$MITAN_DATA"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== durable cluster (fsync on), migrate"
ops/pg.sh start 2>&1 | tail -1
bin/mitan migrate 2>&1 | tail -1
PSQL=(psql "$(cat "$MITAN_DATA/pg/conninfo")" -X -q -A -t -v ON_ERROR_STOP=1)

node tests/integration/fake_gateway.mjs "$GW_PORT" >"$MITAN_DATA/gateway.log" 2>&1 &
gw_pid=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$GW_PORT/_stats" >/dev/null 2>&1 && break; sleep 0.1; done
export MITAN_SMS_DRIVER=http MITAN_SMS_URL="http://127.0.0.1:$GW_PORT/send" MITAN_SMS_API_KEY=bench \
	MITAN_SMS_PER_PHONE_PER_HOUR=1000 MITAN_WORKER_POLL_MS=1000

start_workers() {
	pids=()
	for _ in $(seq 1 "$1"); do
		bin/mitan worker 2>>"$MITAN_DATA/worker.log" &
		pids+=($!)
	done
	sleep 0.5
}
stop_workers() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}
# Messages to distinct phones (the per-phone limit stays out of the way), one per row.
insert() { # prefix count
	"${PSQL[@]}" -c "INSERT INTO sms_outbox (dedupe_key, to_phone, template, language, variables, body,
	                                        next_attempt_at, created_at, updated_at)
	                 SELECT '$1:' || i, '+9190' || lpad((i % 100000000)::text, 8, '0'), 'booking_status', 'hi', '{}',
	                        'मितान: आय प्रमाण पत्र, संदर्भ MT-ABCD-EFGH-' || i || ': दस्तावेज़ लिए गए।',
	                        clock_timestamp(), clock_timestamp(), clock_timestamp()
	                   FROM generate_series(1, $2) i"
}
# Gateway receive times joined with the rows' commit times: rate and lag percentiles.
report() { # prefix label
	"${PSQL[@]}" -F ' ' -c "SELECT id, (extract(epoch FROM created_at) * 1000)::bigint FROM sms_outbox
	                        WHERE dedupe_key LIKE '$1:%'" >"$MITAN_DATA/created.txt"
	curl -fs "http://127.0.0.1:$GW_PORT/_stats" >"$MITAN_DATA/stats.json"
	node -e '
	  const fs = require("fs");
	  const created = new Map(fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" ")).map(([i, t]) => [i, Number(t)]));
	  const times = JSON.parse(fs.readFileSync(process.argv[2], "utf8")).times.filter(([ref]) => created.has(ref));
	  const recv = times.map(([, t]) => t).sort((a, b) => a - b);
	  const lags = times.map(([ref, t]) => t - created.get(ref)).sort((a, b) => a - b);
	  const q = (p) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))];
	  const secs = (recv[recv.length - 1] - recv[0]) / 1000;
	  console.log(`   ${process.argv[3]}: ${times.length} of ${created.size} delivered, ` +
	    `${(times.length / secs).toFixed(0)} msg/s over ${secs.toFixed(2)} s; ` +
	    `commit-to-gateway lag p50 ${q(0.5).toFixed(0)} ms, p99 ${q(0.99).toFixed(0)} ms, max ${lags[lags.length - 1].toFixed(0)} ms`);
	' "$MITAN_DATA/created.txt" "$MITAN_DATA/stats.json" "$2"
}
wait_sent() { # prefix count
	for _ in $(seq 1 600); do
		n=$("${PSQL[@]}" -c "SELECT count(*) FROM sms_outbox WHERE dedupe_key LIKE '$1:%' AND status = 'sent'")
		[ "$n" -ge "$2" ] && return 0
		sleep 0.2
	done
	echo "   only $n of $2 sent" >&2
}

for W in 1 4; do
	echo
	echo "== $W worker(s): throughput, a backlog of $N messages"
	insert "tp$W" "$N"
	start_workers "$W"
	wait_sent "tp$W" "$N"
	stop_workers
	report "tp$W" "backlog"

	echo "== $W worker(s): lag at $RATE msg/s offered for $SECONDS_LAG s (one commit every 100 ms)"
	start_workers "$W"
	per=$((RATE / 10))
	{
		for i in $(seq 1 $((SECONDS_LAG * 10))); do
			echo "INSERT INTO sms_outbox (dedupe_key, to_phone, template, language, variables, body, next_attempt_at, created_at, updated_at)
			      SELECT 'lag$W:$i:' || k, '+9191' || lpad(($i * 1000 + k)::text, 8, '0'), 'booking_status', 'hi', '{}',
			             'मितान: आय प्रमाण पत्र, संदर्भ MT-ABCD-EFGH: दस्तावेज़ लिए गए।', clock_timestamp(), clock_timestamp(), clock_timestamp()
			        FROM generate_series(1, $per) k;"
			echo "SELECT pg_sleep(0.1);"
		done
	} | "${PSQL[@]}" >/dev/null
	wait_sent "lag$W" $((per * SECONDS_LAG * 10))
	stop_workers
	report "lag$W" "steady"
done
echo
echo "   duplicates seen by the gateway (same Idempotency-Key twice): $(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).duplicates)' "$MITAN_DATA/stats.json")"
