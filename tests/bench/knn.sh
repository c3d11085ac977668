#!/usr/bin/env bash
# make bench-knn: the nearest-capable-agent lookup with 100,000 agents (GiST KNN on
# agent.base, a geography), measured with pgbench on a durable cluster using the booking's
# own statement (dispatch/booking/booking.c, booking_take_unit: pick with FOR UPDATE SKIP LOCKED and
# take the unit), in a transaction that is rolled back so the ledger stays as it was.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_RUN=${KNN_SECONDS:-20}
export MITAN_DATA=${KNN_DATA:-/tmp/plan-knn}
export MITAN_ENV=dev MITAN_LOG_LEVEL=warn
# The plain (-O2, no sanitizer) binary, whatever build bin/mitan was copied from last.
MITAN=${MITAN_BIN:-build/rel/mitan}
cleanup() { ops/pg.sh destroy >/dev/null 2>&1 || true; rm -rf "$MITAN_DATA"; }
trap cleanup EXIT
rm -rf "$MITAN_DATA"; mkdir -p "$MITAN_DATA"; chmod 777 "$MITAN_DATA"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
ops/pg.sh start 2>&1 | tail -1
"$MITAN" migrate >/dev/null 2>&1
"$MITAN" seed >/dev/null 2>&1
CONN=$(cat "$MITAN_DATA/pg/conninfo")
PSQL=(psql "$CONN" -X -q -A -t -v ON_ERROR_STOP=1)
# One district, one zone of 1 x 1 degree (about 100 x 110 km), 100,000 agents at random
# places, one window each with 3 units; a quarter do revenue and municipal work only.
"${PSQL[@]}" <<'SQL'
SELECT setseed(0.5);
INSERT INTO district (code, name_en, name_hi) VALUES ('KNN', 'KNN bench', 'केएनएन');
INSERT INTO zone (district_id, code, name_en, name_hi, area)
SELECT id, 'KNN-Z1', 'KNN zone', 'ज़ोन', ST_Multi(ST_MakeEnvelope(81.0, 21.0, 82.0, 22.0, 4326)) FROM district WHERE code = 'KNN';
INSERT INTO agent (code, password_hash, name, phone, district_id, zone_id, base, skills)
SELECT 'KNN-A' || k, '!', 'Agent ' || k, '+919900000000', z.district_id, z.id,
       ST_SetSRID(ST_MakePoint(81.0 + random(), 21.0 + random()), 4326)::geography,
       CASE WHEN k % 4 = 3 THEN '{revenue,municipal}'::text[] ELSE '{*}' END
  FROM zone z, generate_series(1, 100000) k WHERE z.code = 'KNN-Z1';
INSERT INTO agent_window (agent_id, starts_at, ends_at, zone_id, district_id, capacity)
SELECT id, '2030-01-01 03:30+00', '2030-01-01 05:30+00', zone_id, district_id, 3 FROM agent WHERE code LIKE 'KNN-A%';
VACUUM ANALYZE agent; VACUUM ANALYZE agent_window;
SQL
ZONE=$("${PSQL[@]}" -c "SELECT id FROM zone WHERE code = 'KNN-Z1'")
# The booking's statement as in dispatch/booking/booking.c (booking_take_unit), ordered by distance
# alone so that PostgreSQL serves it from the GiST index in KNN order. (With a second sort
# key, `ORDER BY distance, a.id`, it scanned and sorted all agents: p50 177 ms.)
STMT="WITH pick AS (SELECT w.agent_id, w.starts_at FROM agent_window w JOIN agent a ON a.id = w.agent_id WHERE w.zone_id = $ZONE AND w.starts_at = '2030-01-01 03:30+00' AND w.booked < w.capacity AND a.active AND a.skills && ARRAY['income_certificate', 'revenue', '*'] AND a.id <> 0 AND NOT EXISTS (SELECT 1 FROM agent_unavailable u WHERE u.agent_id = a.id AND u.day = ('2030-01-01 03:30+00'::timestamptz AT TIME ZONE (SELECT time_zone FROM district WHERE id = w.district_id))::date) ORDER BY a.base <-> ST_SetSRID(ST_MakePoint(:lon / 100000.0, :lat / 100000.0), 4326)::geography LIMIT 1 FOR UPDATE OF w SKIP LOCKED) UPDATE agent_window w SET booked = w.booked + 1 FROM pick WHERE w.agent_id = pick.agent_id AND w.starts_at = pick.starts_at RETURNING w.agent_id, w.ends_at;"
for variant in booking; do
	printf '\\set lat random(2100000, 2200000)\n\\set lon random(8100000, 8200000)\nBEGIN;\n%s\nROLLBACK;\n' "$STMT" >"$MITAN_DATA/$variant.sql"
done
echo "== the plan of the booking's statement"
for variant in booking; do
echo "-- $variant"
sed -n 4p "$MITAN_DATA/$variant.sql" | sed 's/:lon \/ 100000.0/81.5/; s/:lat \/ 100000.0/21.5/; s/^/EXPLAIN (COSTS OFF) /' | "${PSQL[@]}" | head -14
done
cd "$MITAN_DATA"
for run in "booking 1" "booking 2"; do
	set -- $run
	variant=$1 c=$2
	rm -f pgbench_log.*
	echo "== pgbench, statement $variant, $c client(s), $SECONDS_RUN s, prepared statements"
	pgbench "$CONN" -n -M prepared -f "$variant.sql" -c $c -j $c -T "$SECONDS_RUN" -l 2>&1 | grep -E 'tps|latency average|transactions actually'
	# Column 3 of the per-transaction log: latency in microseconds (BEGIN + lookup + ROLLBACK).
	cat pgbench_log.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {printf "   n %d  p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms\n", NR, a[int(NR*0.5)]/1000, a[int(NR*0.9)]/1000, a[int(NR*0.99)]/1000, a[NR]/1000}'
done
