#!/usr/bin/env bash
# Installs what the build, the server and the tests need, skipping what is there.
# Not root: prints the exact command to run and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="build-essential pkg-config libcivetweb-dev libpq-dev postgresql-15 postgresql-15-postgis-3
postgresql-client-15 libjansson-dev libcurl4-openssl-dev libssl-dev libqrencode-dev libmagic-dev
libcmocka-dev curl libcairo2-dev libpango1.0-dev fonts-dejavu-core fonts-lohit-deva"
[ "${1:-}" = "--test" ] && PKGS="$PKGS chromium wrk poppler-utils clang-format nginx openssl"
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"

missing=()
for p in $PKGS; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "install-deps: missing packages. Run:" >&2
		echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
	# The package starts a system-wide cluster we do not use; it would only hold port 5432.
	if command -v pg_lsclusters >/dev/null 2>&1 && pg_lsclusters -h 2>/dev/null | grep -q '^15 *main .*online'; then
		pg_ctlcluster 15 main stop || true
	fi
fi
# npm ls fails when a package of package-lock.json is missing or of another version.
if [ "${1:-}" = "--test" ] && ! npm ls --depth=0 >/dev/null 2>&1; then
	echo "install-deps: npm ci (playwright-core, yaml, ajv for the tests)" >&2
	npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
exit 0
