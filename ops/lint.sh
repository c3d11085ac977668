#!/usr/bin/env bash
# `make lint`: the house style, checked by tools. Two checks over the C and header files given
# as arguments (the Makefile passes every one of the tree):
#   1. clang-format --dry-run -Werror with the repository's .clang-format (`make format` fixes it);
#   2. ops/checksrc.pl, the rules clang-format cannot see (banned functions, assignments in
#      conditions, history tags and // comments), each finding as file:line: message.
# Prints what it checks, every finding, and one summary line; exits non-zero on any finding.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ]; then
	echo "usage: ops/lint.sh FILE..." >&2
	exit 2
fi
if ! command -v clang-format >/dev/null 2>&1; then
	echo "lint: clang-format is not installed (ops/install-deps.sh --test installs it)" >&2
	exit 2
fi

rc=0
echo "lint: clang-format ($(clang-format --version | sed 's/.*version \([0-9.]*\).*/\1/')) over $# files, style .clang-format"
unformatted=0
for f in "$@"; do
	out=$(clang-format --dry-run -Werror "$f" 2>&1) && continue
	n=$(grep -c 'Wclang-format-violations' <<<"$out")
	if [ "$n" -gt 0 ]; then
		echo "$f: not in the house format ($n place(s); see clang-format --dry-run $f)"
	else
		# Not a style difference: clang-format itself failed (unreadable file, bad .clang-format).
		echo "$f: clang-format failed: $(head -1 <<<"$out")"
	fi
	unformatted=$((unformatted + 1))
done
if [ $unformatted -gt 0 ]; then
	echo "lint: clang-format: $unformatted of $# files differ (make format rewrites them)"
	rc=1
else
	echo "lint: clang-format: all $# files in the house format"
fi

echo "lint: ops/checksrc.pl over $# files"
ops/checksrc.pl "$@" 2>&1 || rc=1

if [ $rc -eq 0 ]; then
	echo "lint: passed"
else
	echo "lint: FAILED"
fi
exit $rc
