#!/bin/bash
# run.sh - the project's test command (README "Run every test"). As root on Debian 12:
#   installs the packages the tests need, builds twice (release for the plugin images,
#   ASan+UBSan for unit/API tests), then runs every ctest label:
#     unit, api, netns  in build-asan/ (sanitizers, CK_FORK=no)
#     fs, e2e           in build/      (release binaries go into the plugin rootfs)
#     fuzz              in build-fuzz/ (clang, libFuzzer + ASan/UBSan, FUZZ_SECONDS each, 20)
# Options: -L REGEX limits labels (e.g. tests/run.sh -L unit). Exit 0 only if all passed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
labels=""
while [ $# -gt 0 ]; do
	case $1 in
	-L) labels=$2; shift ;;
	*) sed -n '2,9p' "$0"; exit 2 ;;
	esac
	shift
done

if [ "$(id -u)" = 0 ]; then
	tests/install-deps.sh
else
	echo "run.sh: not root: skipping package installation; root-only tests will skip"
fi

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
cmake -S . -B build-asan -DSANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
fuzz_build=0
if [ -z "$labels" ] || printf 'fuzz' | grep -qE "^($labels)\$"; then
	if command -v clang >/dev/null; then
		CC=clang cmake -S . -B build-fuzz -DFUZZ=ON -DBUILD_TESTING=OFF \
			-DFUZZ_SECONDS="${FUZZ_SECONDS:-20}" -DCMAKE_BUILD_TYPE=Debug >/dev/null
		cmake --build build-fuzz -j"$jobs"
		fuzz_build=1
	else
		echo "run.sh: clang missing (tests/install-deps.sh installs it): fuzz tests skipped"
	fi
fi

passed=0 failed=0 skipped=0
# run_ctest DIR LABEL-REGEX : run ctest and add its counts to the totals
run_ctest() {
	local dir=$1 regex=$2 log
	if [ -n "$labels" ]; then
		regex=$(printf '%s' "$regex" | tr '|' '\n' | grep -E "^($labels)\$" | paste -sd'|' || true)
		[ -n "$regex" ] || return 0
	fi
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
	if [ "$total" = 0 ] && grep -q 'No tests were found' "$log"; then
		echo "(no $regex tests registered)"
	fi
	rm -f "$log"
}
run_ctest build-asan 'unit|api|netns'
run_ctest build 'fs|e2e'
if [ "$fuzz_build" = 1 ]; then run_ctest build-fuzz 'fuzz'; fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
