#!/bin/bash
# SPDX-License-Identifier: MIT
# commands.sh - the README's two commands do not undercut each other (issue 8): the
# demo's build step (scripts/build-plugins.sh, which configures a new build directory with
# BUILD_TESTING=OFF) followed by tests/run.sh's configure step leaves every test layer
# registered: fs and e2e in the release directory, unit, api and netns in the ASan one.
# Uses a fresh build directory of its own (the real ones are left alone).
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
. "$(dirname "$0")/../../scripts/lib/common.sh"
tl_project_dirs
src=$PROJECT_SOURCE_DIR
tmp=$(tl_tmpdir commands)
if [ "${TL_KEEP:-0}" != 1 ]; then tl_defer "rm -rf '$tmp'"; fi

tl_log "the demo's build step: scripts/build-plugins.sh into a fresh build directory"
"$src/scripts/build-plugins.sh" --build "$tmp/build" --out "$tmp/plugins" >"$tmp/build.log" 2>&1 ||
	{ tail -20 "$tmp/build.log" >&2; tl_fail "scripts/build-plugins.sh failed"; }
grep -q '^BUILD_TESTING:BOOL=OFF' "$tmp/build/CMakeCache.txt" ||
	tl_fail "the demo's build step no longer leaves BUILD_TESTING=OFF cached: this test would prove nothing"
n=$(cd "$tmp/build" && ctest -N | sed -n 's/^Total Tests: //p')
[ "${n:-0}" = 0 ] || tl_fail "expected no tests after the demo's build step, found $n"
tl_ok "after the demo's build step: BUILD_TESTING=OFF cached, no tests registered"

(cd "$src" && RUN_BUILD_DIR=$tmp/build RUN_ASAN_DIR=$tmp/build-asan tests/run.sh --configure-only) ||
	tl_fail "tests/run.sh --configure-only failed"
count() { (cd "$1" && ctest -N -L "^$2\$" | sed -n 's/^Total Tests: //p'); }
for l in fs e2e; do
	n=$(count "$tmp/build" "$l")
	[ "${n:-0}" -gt 0 ] || tl_fail "no $l tests registered in the release build after run.sh's configure step"
	tl_ok "$n $l tests registered in the release build"
done
for l in unit api netns; do
	n=$(count "$tmp/build-asan" "$l")
	[ "${n:-0}" -gt 0 ] || tl_fail "no $l tests registered in the ASan build"
	tl_ok "$n $l tests registered in the ASan build"
done
echo "commands: all checks passed"
