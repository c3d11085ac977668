#!/usr/bin/env bash
# make bench-city: a city-scale day — 5,000 visits, 200 agents in 6 zones — planned from the
# database with `mitan plan --date`, against the greedy nearest-agent assignment made at
# booking time (the same visits, each agent's own visits routed by the same planner with no
# visit allowed to move: --baseline). Throwaway durable cluster under /tmp/plan-city.
set -euo pipefail
cd "$(dirname "$0")/../.."
LIMIT=${CITY_TIME_LIMIT:-8}       # seconds per zone; 6 zones
export MITAN_DATA=${CITY_DATA:-/tmp/plan-city}
export MITAN_ENV=dev MITAN_LOG_LEVEL=warn
# The plain (-O2, no sanitizer) binary, whatever build bin/mitan was copied from last.
MITAN=${MITAN_BIN:-build/rel/mitan}
cleanup() { ops/pg.sh destroy >/dev/null 2>&1 || true; rm -rf "$MITAN_DATA"; }
trap cleanup EXIT
rm -rf "$MITAN_DATA"; mkdir -p "$MITAN_DATA"; chmod 755 "$MITAN_DATA"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
ops/pg.sh start 2>&1 | tail -1
"$MITAN" migrate >/dev/null 2>&1
"$MITAN" seed >/dev/null 2>&1
PSQL=(psql "$(cat "$MITAN_DATA/pg/conninfo")" -X -q -A -t -v ON_ERROR_STOP=1)
DAY=$(TZ=Asia/Kolkata date -d tomorrow +%F)
# District BEN: 6 zones of 4 x 6 km in a 3 x 2 grid; 200 agents at random places in their
# zone (every fourth does revenue and municipal work only); 09:00-18:00 shifts with 8
# visits in each of the four windows (6,400 units for 5,000 visits).
# 25 visits per agent in a 9-hour day fit only if a visit at the door is short: 10 minutes
# (collecting documents against the checklist). The catalogue's own minutes (15-60) would
# make most of the day infeasible for any assignment.
"${PSQL[@]}" <<SQL
UPDATE service SET visit_minutes = 10;
SELECT setseed(0.31);
INSERT INTO district (code, name_en, name_hi) VALUES ('BEN', 'Bench city', 'बेंच');
INSERT INTO zone (district_id, code, name_en, name_hi, area)
SELECT d.id, 'BEN-Z' || i, 'Zone ' || i, 'ज़ोन ' || i,
       ST_Multi(ST_MakeEnvelope(81.57 + 0.04 * ((i - 1) % 3), 21.19 + 0.055 * ((i - 1) / 3),
                                81.61 + 0.04 * ((i - 1) % 3), 21.245 + 0.055 * ((i - 1) / 3), 4326))
  FROM district d, generate_series(1, 6) i WHERE d.code = 'BEN';
INSERT INTO slot_template (zone_id, window_no, start_local, end_local)
SELECT z.id, w.no, w.s, w.e FROM zone z,
       (VALUES (1, time '09:00', time '11:00'), (2, '11:00', '13:00'), (3, '14:00', '16:00'), (4, '16:00', '18:00')) w(no, s, e)
 WHERE z.code LIKE 'BEN-%';
INSERT INTO agent (code, password_hash, name, phone, district_id, zone_id, base, skills)
SELECT 'BEN-A' || k, '!', 'Agent ' || k, '+919900000000', z.district_id, z.id,
       ST_SetSRID(ST_MakePoint(ST_XMin(z.area) + random() * 0.04, ST_YMin(z.area) + random() * 0.055), 4326)::geography,
       CASE WHEN k % 4 = 3 THEN '{revenue,municipal}'::text[] ELSE '{*}' END
  FROM generate_series(0, 199) k JOIN zone z ON z.code = 'BEN-Z' || (k % 6 + 1);
INSERT INTO agent_shift (agent_id, day, start_local, end_local, per_window)
SELECT id, '$DAY', '09:00', '18:00', 8 FROM agent WHERE code LIKE 'BEN-A%';
SELECT agent_windows_materialize('$DAY', '$DAY');
SQL
echo "== booking 5,000 visits nearest-first (the booking code's take, tests/bench/book_random.sql)"
for i in 1 2 3 4 5 6; do
	n=$((i <= 2 ? 834 : 833))
	"${PSQL[@]}" -v zone="BEN-Z$i" -v day="$DAY" -v n=$n -v seed=0.$i -f tests/bench/book_random.sql 2>&1 | grep -o 'booked.*' || true
done
"${PSQL[@]}" -c "SELECT 'bookings: ' || count(*) FROM booking WHERE status = 'booked'"
echo "== mitan plan --date $DAY --time-limit $LIMIT --baseline"
start=$(date +%s.%N)
"$MITAN" plan --date "$DAY" --time-limit "$LIMIT" --baseline | tee "$MITAN_DATA/plan.jsonl"
end=$(date +%s.%N)
node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const sum = (k) => rows.reduce((s, r) => s + r[k], 0);
const plan = sum("travel_km"), base = sum("baseline_km");
console.log(`zones ${rows.length}, visits ${sum("visits")}, agents ${sum("agents")}, routed ${sum("routed")}, moved ${sum("moved")}, unroutable ${sum("unroutable")}`);
console.log(`travel: planner ${plan.toFixed(1)} km, greedy booking-time assignment ${base.toFixed(1)} km: ${(100 * (base - plan) / base).toFixed(1)} % shorter`);
console.log(`planning time (solve + write-back, without the baseline): ${sum("seconds").toFixed(1)} s`);
' "$MITAN_DATA/plan.jsonl"
echo "wall clock incl. baseline: $(echo "$end - $start" | bc) s"
"${PSQL[@]}" -c "SELECT 'ledger mismatches: ' || count(*) FROM agent_window w WHERE w.booked <> (SELECT count(*) FROM booking b WHERE b.agent_id = w.agent_id AND b.window_start = w.starts_at AND b.status IN ('booked', 'assigned'))"
"${PSQL[@]}" -c "SELECT 'outside window: ' || count(*) FROM booking WHERE planned_arrival < window_start OR planned_arrival > window_end"
