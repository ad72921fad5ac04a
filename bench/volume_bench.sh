#!/bin/bash
# SPDX-License-Identifier: MIT
# volume_bench.sh - run bench/volume_bench (FUSE data path vs raw libnfs) against a
# loopback nfs-ganesha started here (scripts/lib/ganesha.sh). Not a test. As root:
#   bench/volume_bench.sh [BUILD_DIR (build)] [volume_bench args, e.g. -S 256 -n 2000 -r 3]
# BENCH_TMPFS=1 puts the export on a tmpfs (takes the disk out of the write figures).
# BENCH_WRAP="perf stat -o FILE" (any command prefix) runs volume_bench under it, e.g. to
# profile one side: BENCH_WRAP="perf stat" bench/volume_bench.sh build -t seqr -M fuse
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib/ganesha.sh
. "$top/scripts/lib/ganesha.sh"
require_ganesha
build=${1:-$top/build}
[ $# -gt 0 ] && shift
bin=$build/bench/volume_bench
[ -x "$bin" ] || tl_skip "build $bin first (cmake --build $build --target volume_bench)"
work=$(tl_tmpdir volbench)
if [ "${BENCH_TMPFS:-0}" = 1 ]; then
	mkdir -p "$work/export"
	mount -t tmpfs -o size=2g volbench "$work/export"
	tl_defer "umount -l '$work/export'"
fi
NFS_PORT=${BENCH_NFS_PORT:-15049} NFS_MNTPORT=${BENCH_MNT_PORT:-15050} \
	ganesha_up "$work/g" "$work/export"
. "$work/g/ganesha.env"
mkdir -p "$work/export/bench" "$work/mnt"
chmod 0777 "$work/export/bench"
tl_defer "umount -l '$work/mnt' 2>/dev/null || true"
${BENCH_WRAP:-} "$bin" -s 127.0.0.1 -e "$G_PSEUDO" -p "$G_PORT" -P "$G_MNTPORT" -d bench -m "$work/mnt" "$@"
