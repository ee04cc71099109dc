#!/usr/bin/env bash
# Runs the compiled test suite (dist/test) on a given Node.js major version, with a binary from
# the npm registry kept in a cache folder, and ends with "node X.Y.Z: N passed, M failed".
#
# Usage: scripts/test-on-node.sh MAJOR [test-file-filter ...]     (after `npm run build`)
#        npm run test:node -- 24 [filter ...]                    (builds first)
#
# MAJOR is one of the tested versions below. When the machine's own node has that major, it is
# used as it is; otherwise the pinned version of the npm package node-<platform>-<arch> (the
# official build) is installed once into $SWITCHYARD_NODE_CACHE (default
# ~/.cache/switchyard/node-VERSION) and reused. The system's node is never replaced.
# Tests start every child process (the switchyard binary, examples, the benchmark) with
# process.execPath, so they run on the same node; its folder also comes first on PATH.
# With SWITCHYARD_TEST_SUMMARY=FILE the closing line is appended to FILE too.
# With SWITCHYARD_COVERAGE=1 the suite runs under c8 with the line-coverage floor, as `npm test`
# does; CI asks for it on one version only, since coverage does not differ by version much and
# costs time on each run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The Node.js versions the suite is tested on: the newest of each line when last checked.
# Raise them here; README.md ("Node.js versions") and package.json's engines say the same.
major="${1:-}"
case "$major" in
  20) pinned=20.20.2 ;;
  22) pinned=22.23.5 ;;
  24) pinned=24.22.3 ;;
  *)
    echo "usage: $0 MAJOR [test-file-filter ...]  (MAJOR: 20, 22 or 24)" >&2
    exit 2
    ;;
esac
shift

summary() {
  echo "$1"
  if [ -n "${SWITCHYARD_TEST_SUMMARY:-}" ]; then echo "$1" >>"$SWITCHYARD_TEST_SUMMARY"; fi
}

if [ "$(node -p 'process.versions.node.split(".")[0]')" = "$major" ]; then
  node_bin="$(command -v node)"
else
  version="$pinned"
  package="node-$(node -p 'process.platform + "-" + process.arch')"
  cache="${SWITCHYARD_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard}"
  dir="$cache/node-$version"
  node_bin="$dir/node_modules/$package/bin/node"
  if [ "$("$node_bin" --version 2>/dev/null)" != "v$version" ]; then
    echo "installing $package@$version into $dir"
    # Into a fresh folder, moved into place only when complete: an interrupted install is
    # never mistaken for a good one.
    mkdir -p "$cache"
    tmp="$(mktemp -d "$cache/.node-$version.XXXXXX")"
    if ! npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund \
      --loglevel=error "$package@$version" ||
      [ "$("$tmp/node_modules/$package/bin/node" --version 2>/dev/null)" != "v$version" ]; then
      rm -rf "$tmp"
      summary "node $version: not run (could not install $package@$version from the npm registry)"
      exit 1
    fi
    rm -rf "$dir"
    mv "$tmp" "$dir"
  fi
fi

actual="$("$node_bin" -p 'process.versions.node')"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "running the tests on node $actual ($node_bin)"
status=0
coverage=""
if [ "${SWITCHYARD_COVERAGE:-}" = 1 ]; then coverage="--coverage"; fi
# $coverage unquoted on purpose: nothing at all when it is empty.
PATH="$(dirname "$node_bin"):$PATH" "$node_bin" scripts/run-tests.mjs $coverage "$@" | tee "$log" ||
  status=$?

# node:test's spec reporter closes with "ℹ pass N", "ℹ fail N", "ℹ cancelled N".
count() { sed -n "s/^ℹ $1 \([0-9][0-9]*\)$/\1/p" "$log" | tail -n 1; }
passed="$(count pass)"
failed="$(count fail)"
cancelled="$(count cancelled)"
if [ -z "$passed" ] || [ -z "$failed" ]; then
  summary "node $actual: no test results (the test runner exited with $status)"
  exit 1
fi
failed=$((failed + ${cancelled:-0}))
summary "node $actual: $passed passed, $failed failed"
# Why they failed, in the summary too: a CI log is often read from its end, and the reporter's
# own account is thousands of lines above it. The "✖ failing tests:" section, without stack
# frames, up to c8's table; at most 150 lines.
if [ "$failed" -gt 0 ]; then
  sed -n '/^✖ failing tests:$/,/^-\{10,\}/p' "$log" | grep -v -e '^ *at ' -e '^-\{10,\}' |
    head -n 150 | sed 's/^/  | /' | while IFS= read -r line; do summary "$line"; done || true
fi
# c8's text summary has "Lines        : 87.12% ( 9000/10331 )". A run whose tests all passed
# but that still failed did not reach the floor (c8 says so on stderr).
lines="$(sed -n 's/^Lines *: \([0-9.]*%\).*/\1/p' "$log" | tail -n 1)"
if [ -n "$lines" ]; then
  floor=""
  if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then floor=", below the floor in .c8rc.json"; fi
  summary "node $actual coverage: ${lines} of source lines${floor}"
fi
if [ "$status" -eq 0 ] && [ "$failed" -gt 0 ]; then status=1; fi
exit "$status"
