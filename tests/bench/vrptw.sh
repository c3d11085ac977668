#!/bin/sh
# Benchmark of the route planner on the 56 Solomon VRPTW instances.
#
#   tests/bench/vrptw.sh [TIME_LIMIT_SECONDS]      (default 1; run from the repo root)
#
# Runs `mitan plan --solomon` on every instance, checks each plan with the
# independent checker (tests/bench/vrptw_check.c, built here if needed),
# compares the recomputed distance with best_known_min_distance.csv and prints
# a markdown table and the mean gap. Exit status 1 if any plan is infeasible
# or the planner failed.
#
# Environment: MITAN_BIN (default bin/mitan), MITAN_SOLOMON_DIR (default
# ../shared/data/solomon), SEED (default 1), CC (default cc),
# VRPTW_CHECK (default build/vrptw_check), INSTANCES (space-separated names,
# default all).
set -eu

limit=${1:-1}
bin=${MITAN_BIN:-bin/mitan}
dir=${MITAN_SOLOMON_DIR:-../shared/data/solomon}
seed=${SEED:-1}
check=${VRPTW_CHECK:-build/vrptw_check}
cc=${CC:-cc}

if [ ! -x "$bin" ]; then
	echo "vrptw.sh: $bin not found (make first, or set MITAN_BIN)" >&2
	exit 2
fi
if [ ! -f "$dir/best_known_min_distance.csv" ]; then
	echo "vrptw.sh: no Solomon data in $dir (set MITAN_SOLOMON_DIR)" >&2
	exit 2
fi
if [ ! -x "$check" ] || [ tests/bench/vrptw_check.c -nt "$check" ] ||
   [ dispatch/planner/solomon.c -nt "$check" ]; then
	mkdir -p "$(dirname "$check")"
	$cc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -Wall -Wextra -Werror \
		tests/bench/vrptw_check.c dispatch/planner/solomon.c dispatch/planner/vrptw.c -lm -o "$check"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ -n "${INSTANCES:-}" ]; then
	names=$INSTANCES
else
	names=$(tail -n +2 "$dir/best_known_min_distance.csv" | cut -d, -f1)
fi

echo "Solomon VRPTW, time limit ${limit} s, seed ${seed}, $(nproc) cores, $(uname -m)"
echo
echo "| instance | vehicles | distance | best known | gap % | time s |"
echo "|---|---:|---:|---:|---:|---:|"
bad=0
: > "$tmp/gaps"
for name in $names; do
	best=$(awk -F, -v n="$name" '$1 == n { print $3 }' "$dir/best_known_min_distance.csv")
	t0=$(date +%s.%N)
	set +e
	"$bin" plan --solomon "$dir/$name.txt" --seed "$seed" --time-limit "$limit" \
		> "$tmp/out.json" 2> "$tmp/err"
	prc=$?
	set -e
	t1=$(date +%s.%N)
	el=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	if [ "$prc" -ne 0 ]; then
		echo "| $name | - | planner exit $prc: $(head -c 200 "$tmp/err" | tr '\n' ' ') | $best | - | $el |"
		bad=1
		continue
	fi
	set +e
	res=$("$check" "$dir/$name.txt" < "$tmp/out.json")
	crc=$?
	set -e
	if [ "$crc" -ne 0 ]; then
		echo "| $name | - | $res | $best | - | $el |"
		bad=1
		continue
	fi
	veh=$(echo "$res" | awk '{ print $2 }')
	dist=$(echo "$res" | awk '{ print $3 }')
	gap=$(awk -v d="$dist" -v b="$best" 'BEGIN { printf "%.2f", 100 * (d - b) / b }')
	echo "$gap" >> "$tmp/gaps"
	printf '| %s | %s | %.2f | %s | %s | %s |\n' "$name" "$veh" "$dist" "$best" "$gap" "$el"
done
echo
awk '{ s += $1; n++; if ($1 > m || n == 1) m = $1 }
     END { if (n) printf "mean gap %.2f %% over %d feasible instances (worst %.2f %%)\n", s / n, n, m }' "$tmp/gaps"
if [ "$bad" -ne 0 ]; then
	echo "SOME PLANS FAILED OR WERE INFEASIBLE"
	exit 1
fi
