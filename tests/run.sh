#!/usr/bin/env bash
# The test run of `make test`: the lint (one test), a throwaway cluster on a free port, migrate,
# seed the demo city, unit tests, then the real server with integration and browser tests. Ends with one
# line "N passed, N failed"; the cluster and the server are stopped even on failure.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${OUT:-build/rel}

export MITAN_DATA=$(mktemp -d /tmp/mitan-test.XXXXXX)
# Tests change capacities with SQL behind the server's back: no availability cache.
export MITAN_SLOTS_CACHE_MS=0
export MITAN_ENV=test MITAN_TRUST_PROXY=1 MITAN_LOG_LEVEL=${MITAN_LOG_LEVEL:-warn}
# The SMS tests run their own workers (bin/mitan worker), with the http driver too (issue 5).
export MITAN_WORKER_IN_PROCESS=0 MITAN_SMS_DLR_SECRET=test-dlr-secret
chmod 755 "$MITAN_DATA"
passed=0
failed=0
server_pid=
nginx_pid=

cleanup() {
	[ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	ops/pg.sh destroy >/dev/null 2>&1
	rm -rf "$MITAN_DATA"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }
count() { passed=$((passed + $1)); failed=$((failed + $2)); }

free_port() {
	local p=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}

# The style check counts as one test; a failure prints its findings and the run goes on, so
# one report shows everything. TESTS=word skips it, as it skips the unit tests.
if [ -z "${TESTS:-}" ]; then
	step "lint"
	if make --no-print-directory -s lint; then
		count 1 0
	else
		echo "FAILED: make lint (the findings above)"
		count 0 1
	fi
fi

step "database"
ops/pg.sh start --test || { echo "0 passed, 1 failed"; exit 1; }
bin/mitan migrate && bin/mitan seed --demo || { echo "0 passed, 1 failed"; exit 1; }

step "unit tests"
for t in "$OUT"/tests/test_*; do
	[ -n "${TESTS:-}" ] && break
	[ -x "$t" ] || continue
	log=$(mktemp)
	"$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	[ $rc -ne 0 ] && [ -z "$f" ] && f=1
	count "${p:-0}" "${f:-0}"
	rm -f "$log"
done

step "server"
export MITAN_PORT=$(free_port 18080)
export MITAN_URL="http://127.0.0.1:$MITAN_PORT"
# The server logs at info (its 4xx lines carry the request id: tests/integration/nginx.test.mjs
# reads them); subcommands and the servers tests start themselves keep MITAN_LOG_LEVEL.
export MITAN_SERVER_LOG="$MITAN_DATA/server.log"
MITAN_LOG_LEVEL=${MITAN_SERVER_LOG_LEVEL:-info} bin/mitan serve >"$MITAN_SERVER_LOG" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
	curl -fs "$MITAN_URL/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fs "$MITAN_URL/readyz" >/dev/null || { cat "$MITAN_DATA/server.log"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }

# nginx in front of the server with ops/nginx.conf itself, as in production (docs/SECURITY.md,
# "nginx in front"): a self-signed certificate made here, and sed over exactly the lines that
# name the host's ports, certificate and log directory (each must match once, or the test
# setup fails instead of testing another file). A small main config around it keeps
# everything in $MITAN_DATA/nginx, so it runs as root (workers as nobody) or as a normal user.
start_nginx() {
	local dir="$MITAN_DATA/nginx" nginx conf="$MITAN_DATA/nginx/mitan.conf" pat
	nginx=$(command -v nginx || echo /usr/sbin/nginx)
	[ -x "$nginx" ] || { echo "nginx is not installed (ops/install-deps.sh --test)"; return 1; }
	mkdir -p "$dir/tmp"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
		-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null ||
		{ echo "openssl could not make the test certificate"; return 1; }
	MITAN_TLS_PORT=$(free_port 18443)
	MITAN_TLS_HTTP_PORT=$(free_port $((MITAN_TLS_PORT + 1)))
	for pat in '^\s*listen 443 ssl http2;' '^\s*listen 80;' '^\s*server 127\.0\.0\.1:8080;' \
		'/etc/ssl/mitan/fullchain\.pem;' '/etc/ssl/mitan/privkey\.pem;' '/var/log/nginx/'; do
		[ "$(grep -cE "$pat" ops/nginx.conf)" = 1 ] || { echo "ops/nginx.conf: no single line matches $pat"; return 1; }
	done
	sed -E -e "s|^(\s*)listen 443 ssl http2;|\1listen 127.0.0.1:$MITAN_TLS_PORT ssl http2;|" \
		-e "s|^(\s*)listen 80;|\1listen 127.0.0.1:$MITAN_TLS_HTTP_PORT;|" \
		-e "s|^(\s*)server 127\.0\.0\.1:8080;|\1server 127.0.0.1:$MITAN_PORT;|" \
		-e "s|/etc/ssl/mitan/fullchain\.pem;|$dir/cert.pem;|" -e "s|/etc/ssl/mitan/privkey\.pem;|$dir/key.pem;|" \
		-e "s|/var/log/nginx/|$dir/|" ops/nginx.conf >"$conf"
	{
		[ "$(id -u)" = 0 ] && echo "user nobody nogroup;"
		echo "daemon off; worker_processes 1; pid $dir/nginx.pid; error_log $dir/error.log warn;"
		echo "events { worker_connections 512; }"
		echo "http {"
		echo "  include /etc/nginx/mime.types; default_type application/octet-stream; access_log $dir/access.log;"
		for t in client_body proxy fastcgi uwsgi scgi; do echo "  ${t}_temp_path $dir/tmp/$t;"; done
		echo "  include $conf;"
		echo "}"
	} >"$dir/nginx.conf"
	"$nginx" -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" >>"$dir/error.log" 2>&1 &
	nginx_pid=$!
	export MITAN_TLS_URL="https://127.0.0.1:$MITAN_TLS_PORT" MITAN_TLS_HTTP_PORT MITAN_NGINX_DIR="$dir"
	for _ in $(seq 1 50); do
		curl -skf "$MITAN_TLS_URL/readyz" >/dev/null 2>&1 && return 0
		kill -0 "$nginx_pid" 2>/dev/null || break
		sleep 0.1
	done
	tail -20 "$dir/error.log"
	unset MITAN_TLS_URL
	return 1
}

step "nginx"
if start_nginx; then
	echo "nginx on $MITAN_TLS_URL in front of $MITAN_URL"
else
	echo "FAILED: nginx did not start; the HTTPS tests are skipped"
	count 0 1
fi

# TESTS=word runs only the integration and browser files whose names contain it (no unit tests).
run_node() {
	local dir=$1 retries=${2:-0} log p f files
	files=$(ls "$dir"/*"${TESTS:-}"*.test.mjs 2>/dev/null) || return 0
	log=$(mktemp)
	for attempt in $(seq 0 "$retries"); do
		node --test --test-concurrency=1 --test-reporter=tap $files 2>&1 | tee "$log" | grep -vE '^\s+(duration_ms|type|\.\.\.|---)'
		p=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$log" | tail -1)
		f=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$log" | tail -1)
		[ -z "$p$f" ] && f=1
		[ "${f:-0}" -eq 0 ] && break
		[ "$attempt" -lt "$retries" ] && echo "RETRY: $dir had ${f} failure(s): $(grep '^not ok' "$log" | head -3 | tr '\n' ' ') — running it once more"
	done
	count "${p:-0}" "${f:-0}"
	rm -f "$log"
}

step "integration tests"
run_node tests/integration

step "browser tests"
run_node tests/browser

if ! kill -0 "$server_pid" 2>/dev/null; then
	echo "the server died during the tests:"
	tail -50 "$MITAN_DATA/server.log"
	failed=$((failed + 1))
fi
if grep -qE 'runtime error|AddressSanitizer|LeakSanitizer' "$MITAN_DATA/server.log"; then
	echo "sanitizer reports in the server log:"
	grep -A20 -E 'runtime error|AddressSanitizer|LeakSanitizer' "$MITAN_DATA/server.log" | head -60
	failed=$((failed + 1))
fi
[ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
nginx_pid=
kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
rc=$?
server_pid=
# A clean stop on SIGTERM exits 0 (sanitizer leak reports would make it non-zero).
if [ $rc -ne 0 ]; then
	echo "the server did not stop cleanly (exit $rc):"
	tail -40 "$MITAN_DATA/server.log"
	failed=$((failed + 1))
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
