#!/bin/bash
# run.sh - the project's test command (README "Run every test"). As root on Debian 12:
#   installs the packages the tests need, builds twice (release for the plugin images,
#   ASan+UBSan for unit/API tests), then runs every ctest label:
#     unit, api, netns  in build-asan/ (sanitizers, CK_FORK=no)
#     fs, e2e           in build/      (release binaries go into the plugin rootfs)
# Options: -L REGEX limits labels (e.g. tests/run.sh -L unit). Exit 0 only if all passed.
#   A label that registers no test counts as a failure (a layer that silently did not run).
#   --configure-only: configure both build directories (as below) and exit.
# Env: RUN_BUILD_DIR (build), RUN_ASAN_DIR (build-asan): the two build directories.
# Every configure sets BUILD_TESTING=ON: a build directory first made by
# scripts/build-plugins.sh or scripts/demo.sh (tests off, cached) gets its tests back.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
labels="" configure_only=0
while [ $# -gt 0 ]; do
	case $1 in
	-L) labels=$2; shift ;;
	--configure-only) configure_only=1 ;;
	*) sed -n '2,14p' "$0"; exit 2 ;;
	esac
	shift
done
bdir=${RUN_BUILD_DIR:-build} adir=${RUN_ASAN_DIR:-build-asan}

configure() {
	cmake -S . -B "$bdir" -DCMAKE_BUILD_TYPE=Release -DSANITIZE=OFF -DBUILD_TESTING=ON >/dev/null
	cmake -S . -B "$adir" -DSANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTING=ON >/dev/null
}
if [ "$configure_only" = 1 ]; then
	configure
	exit 0
fi

if [ "$(id -u)" = 0 ]; then
	tests/install-deps.sh
else
	echo "run.sh: not root: skipping package installation; root-only tests will skip"
fi

jobs=$(nproc)
configure
cmake --build "$bdir" -j"$jobs"
cmake --build "$adir" -j"$jobs"

passed=0 failed=0 skipped=0
# run_ctest DIR LABEL-REGEX : run ctest and add its counts to the totals
run_ctest() {
	local dir=$1 regex=$2 log
	if [ -n "$labels" ]; then
		regex=$(printf '%s' "$regex" | tr '|' '\n' | grep -E "^($labels)\$" | paste -sd'|' || true)
		[ -n "$regex" ] || return 0
	fi
	# every layer asked for must have tests: none registered is a failure, not a note
	local l n
	for l in $(printf '%s' "$regex" | tr '|' ' '); do
		n=$(cd "$dir" && ctest -N -L "^$l\$" 2>/dev/null | sed -n 's/^Total Tests: //p')
		if [ "${n:-0}" = 0 ]; then
			echo "FAIL: no $l tests registered in $dir (configured without BUILD_TESTING, or the layer's CMakeLists.txt is missing)"
			failed=$((failed + 1))
		fi
	done
	log=$(mktemp)
	echo "== ctest -L '$regex' in $dir"
	(cd "$dir" && CK_FORK=no ASAN_OPTIONS=detect_leaks=1 ctest -L "^($regex)\$" \
		--output-on-failure --timeout 900) 2>&1 | tee "$log" || true
	local total fail skip
	total=$(sed -n 's/.* tests* failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
	fail=$(sed -n 's/.*, \([0-9]*\) tests* failed out of.*/\1/p' "$log" | tail -1)
	skip=$(grep -c '\*\*\*Skipped\|Not Run (Disabled)\| Skipped ' "$log" || true)
	total=${total:-0} fail=${fail:-0}
	# ctest counts skipped tests as passed in "N tests failed out of M"
	passed=$((passed + total - fail - skip)) failed=$((failed + fail)) skipped=$((skipped + skip))
	rm -f "$log"
}
run_ctest "$adir" 'unit|api|netns'
run_ctest "$bdir" 'fs|e2e'
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
