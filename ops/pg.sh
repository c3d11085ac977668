#!/usr/bin/env bash
# The project-local PostgreSQL 15 + PostGIS cluster (the embedded default).
#
#   ops/pg.sh start [--test]   initdb if needed, start, create database "mitan" with PostGIS,
#                              write $MITAN_DATA/pg/conninfo (read by every mitan subcommand)
#   ops/pg.sh stop             fast shutdown
#   ops/pg.sh status | psql [args] | destroy
#
# --test makes a throwaway cluster (fsync off). Without it the cluster is durable.
# Works as root (runs the server as user postgres, which initdb and postgres require) and as
# a normal user. MITAN_DATA defaults to ./var; MITAN_PG_PORT picks the port (default: a free
# one from 54320 up, remembered for the next start).
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DATA=${MITAN_DATA:-./var}
mkdir -p "$DATA/pg"
DATA=$(cd "$DATA" && pwd)
STATE="$DATA/pg"            # conninfo, port, location: always under MITAN_DATA
say() { printf 'pg.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ -x "$PGBIN/initdb" ] || die "PostgreSQL 15 is not installed ($PGBIN/initdb missing): run ops/install-deps.sh"

if [ "$(id -u)" = 0 ]; then
	RUNAS=(runuser -u postgres --)
	PGUSER_OS=postgres
	id postgres >/dev/null 2>&1 || die "user postgres is missing (it comes with the postgresql-15 package)"
else
	RUNAS=()
	PGUSER_OS=$(id -un)
fi

# The cluster lives in $STATE unless the server's user cannot reach it (a path under /root
# when we are root) or the socket path would be too long; then under /tmp.
can_reach() { (cd / && "${RUNAS[@]}" test -x "$1") 2>/dev/null; }
if [ -f "$STATE/location" ]; then
	HOME_DIR=$(cat "$STATE/location")
else
	HOME_DIR="$STATE/cluster"
	if ! can_reach "$STATE" || [ ${#HOME_DIR} -gt 80 ]; then
		HOME_DIR="/tmp/mitan-pg-$(printf '%s' "$DATA" | sha256sum | cut -c1-12)"
		say "user $PGUSER_OS cannot reach $STATE (or the path is too long for a socket); the cluster lives in $HOME_DIR"
	fi
fi
PGDATA="$HOME_DIR/data"
SOCK="$HOME_DIR/run"

pgrun() { (cd / && "${RUNAS[@]}" "$@"); }

free_port() {
	local p=${1:-54320}
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}

cmd_start() {
	local test_mode=0
	[ "${1:-}" = "--test" ] && test_mode=1
	if [ ! -f "$PGDATA/PG_VERSION" ]; then
		say "creating the cluster in $PGDATA"
		mkdir -p "$PGDATA" "$SOCK"
		[ "$(id -u)" = 0 ] && chown -R postgres: "$HOME_DIR"
		chmod 700 "$PGDATA"
		pgrun "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust --locale=C.UTF-8 -E UTF8 >"$HOME_DIR/initdb.log" 2>&1 ||
			die "initdb failed; see $HOME_DIR/initdb.log"
		{
			echo "listen_addresses = '127.0.0.1'"
			echo "unix_socket_directories = '$SOCK'"
			echo "max_connections = 300"
			echo "shared_buffers = 256MB"
			echo "logging_collector = off"
			echo "timezone = 'UTC'"
			# Loaded once in the postmaster, not in every new backend (~50 ms each).
			echo "shared_preload_libraries = 'postgis-3, plpgsql'"
			if [ $test_mode = 1 ]; then
				echo "fsync = off"
				echo "synchronous_commit = off"
				echo "full_page_writes = off"
			fi
		} | pgrun tee -a "$PGDATA/postgresql.conf" >/dev/null
		echo "$HOME_DIR" >"$STATE/location"
	fi
	local port=${MITAN_PG_PORT:-}
	[ -n "$port" ] || port=$(cat "$STATE/port" 2>/dev/null || true)
	if pgrun "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
		say "already running"
	else
		if [ -z "$port" ] || (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			port=$(free_port "${port:-54320}")
		fi
		mkdir -p "$SOCK"
		[ "$(id -u)" = 0 ] && chown postgres: "$SOCK"
		# Another cluster starting at the same moment (parallel test runs) may take the port
		# found free: try a few others before giving up.
		local tries=0
		until pgrun "$PGBIN/pg_ctl" -D "$PGDATA" -o "-p $port" -l "$HOME_DIR/server.log" -w -t 60 start >/dev/null; do
			tries=$((tries + 1))
			grep -q "could not bind\|Address already in use\|could not create lock file" "$HOME_DIR/server.log" 2>/dev/null &&
				[ $tries -lt 5 ] || die "the server did not start; see $HOME_DIR/server.log"
			port=$(free_port $((port + 1 + RANDOM % 100)))
			say "port taken meanwhile; trying $port"
		done
	fi
	port=$(sed -n '4p' "$PGDATA/postmaster.pid")
	echo "$port" >"$STATE/port"
	local psql=("$PGBIN/psql" -h "$SOCK" -p "$port" -U postgres -X -q -v ON_ERROR_STOP=1)
	if ! "${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'mitan'" | grep -q 1; then
		"${psql[@]}" -d postgres -c "CREATE DATABASE mitan"
	fi
	"${psql[@]}" -d mitan -c "CREATE EXTENSION IF NOT EXISTS postgis"
	echo "host=$SOCK port=$port dbname=mitan user=postgres" >"$STATE/conninfo"
	say "running on port $port (socket in $SOCK)"
}

cmd_stop() {
	if [ -f "$PGDATA/PG_VERSION" ] && pgrun "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
		pgrun "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null && say "stopped"
	fi
}

case "${1:-}" in
start) shift; cmd_start "$@" ;;
stop) cmd_stop ;;
status) pgrun "$PGBIN/pg_ctl" -D "$PGDATA" status ;;
psql)
	shift
	exec "$PGBIN/psql" -h "$SOCK" -p "$(cat "$STATE/port")" -U postgres -d mitan "$@"
	;;
destroy)
	cmd_stop
	rm -rf "$HOME_DIR" "$STATE"
	;;
*) die "usage: ops/pg.sh start [--test] | stop | status | psql [args] | destroy" ;;
esac
