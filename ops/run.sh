#!/usr/bin/env bash
# `make run`: the embedded cluster, migrations, the demo city, then the server on
# http://127.0.0.1:$MITAN_PORT until Ctrl-C or SIGTERM. A second run reuses $MITAN_DATA.
set -euo pipefail
cd "$(dirname "$0")/.."

export MITAN_DATA=${MITAN_DATA:-./var}
export MITAN_PORT=${MITAN_PORT:-8080}
export MITAN_ENV=${MITAN_ENV:-dev}
export MITAN_SMS_DRIVER=${MITAN_SMS_DRIVER:-log}
mkdir -p "$MITAN_DATA"
chmod 755 "$MITAN_DATA"

if (exec 3<>"/dev/tcp/127.0.0.1/$MITAN_PORT") 2>/dev/null; then
	echo "run: port $MITAN_PORT is already in use; stop what is there or choose another: MITAN_PORT=8081 make run" >&2
	exit 1
fi

echo "run: starting the database (data in $MITAN_DATA)" >&2
ops/pg.sh start
echo "run: migrating" >&2
bin/mitan migrate
echo "run: loading the catalogue and the demo city" >&2
bin/mitan seed --demo

url="http://127.0.0.1:$MITAN_PORT"
cat >&2 <<MSG

  Mitan is starting on $url
    resident booking   $url/resident/          (Hindi/English; from abroad too)
    field agent app    $url/agent/             (RPR-A01 …; visit codes in $MITAN_DATA/demo-visits.json)
    office             $url/office/            (officer: the day; committee: the fortnightly report)
    API                $url/api/v1/services    (described in docs/openapi.yaml)
    SMS sent (log)     $url/api/v1/dev/sms?phone=%2B91XXXXXXXXXX
    health             $url/healthz

  Demo accounts: listed above, and in $MITAN_DATA/demo-accounts.json
MSG
echo "  Ctrl-C stops the server; the database keeps running (ops/pg.sh stop stops it)." >&2
echo >&2
exec bin/mitan serve
