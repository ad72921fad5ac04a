#!/bin/bash
# SPDX-License-Identifier: MIT
# run_fuzzer.sh HARNESS SEED_DIR SECONDS [libFuzzer options...]
# Runs a libFuzzer harness for SECONDS from the seeds in SEED_DIR (read only: new inputs
# go to a scratch corpus), under ASan/UBSan. Exit 0 only if it found nothing; a crash
# leaves its input in $FUZZ_ARTIFACTS (default /tmp/fuzz-artifacts) and fails.
set -euo pipefail
bin=$1 seeds=$2 secs=$3
shift 3
art=${FUZZ_ARTIFACTS:-/tmp/fuzz-artifacts}/$(basename "$bin")
scratch=$(mktemp -d /tmp/fuzz-corpus.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$art"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"$bin" -max_total_time="$secs" -timeout=25 -rss_limit_mb=4096 -print_final_stats=1 \
	-artifact_prefix="$art/" "$@" "$scratch" "$seeds"
