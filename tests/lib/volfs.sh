# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# volfs.sh - volume mounts for the data-path tests (tests/volume/fs): volfs_tool, which
# mounts one volume with the C volfs_mount() and serves it until SIGTERM, run from the client
# namespace of a ganesha_pair. Source it (it sources ganesha.sh); it reads tool (volfs_tool),
# work (the test's scratch directory), cli (client netns), server (the server's address),
# T (the volumes' NFS timeout, s) and the ganesha.env settings (G_PSEUDO, G_PORT, G_MNTPORT).
#
#   volfs_require [TOOL]                         skip unless the data path can be tested;
#                                                sets tool, PROJECT_*_DIR, LSAN_OPTIONS
#   mount_vol NAME SUBDIR [volfs_tool args...]   mount at $work/NAME; MP_NAME, PID_NAME
#   stop_vol PID MP                              stop volfs_tool, detach what is left

# shellcheck source=scripts/lib/ganesha.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/ganesha.sh"

# volfs_require [TOOL] : skip (saying why) unless root, network namespaces, nfs-ganesha,
# /dev/fuse and volfs_tool (TOOL, default the build's) are here. Sets tool and
# PROJECT_SOURCE_DIR/PROJECT_BUILD_DIR, and gives LeakSanitizer the libnfs suppressions
# (libnfs 4.0 leaks a little when a connect to a silent server is abandoned).
volfs_require() {
	tl_project_dirs
	require_ganesha
	require_netns
	[ -c /dev/fuse ] || tl_skip "no /dev/fuse (FUSE kernel module not available)"
	tool=${1:-$PROJECT_BUILD_DIR/tests/volume/fs/volfs_tool}
	[ -x "$tool" ] || tl_skip "volfs_tool not built at $tool"
	LSAN_OPTIONS="suppressions=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/libnfs.lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
	export LSAN_OPTIONS
}

# mount_vol NAME SUBDIR [volfs_tool args...] : mount SUBDIR of the export at $work/NAME;
# sets MP_<NAME> and PID_<NAME>. Its output (stdout and stderr) goes to $work/NAME.log,
# shown when the test fails; it is stopped at exit.
mount_vol() {
	local name=$1 subdir=$2 mp pid
	mp=$work/$name
	shift 2
	mkdir -p "$mp"
	# nsenter itself (not the ns_exec function, which would run in a subshell): $! is then
	# the pid of volfs_tool, which nsenter becomes (exec, no fork for a net namespace)
	nsenter --net="/run/netns/$cli" -- "$tool" -m "$mp" -s "$server" -e "$G_PSEUDO" -p "$G_PORT" \
		-P "$G_MNTPORT" -d "$subdir" -t "$T" "$@" >"$work/$name.log" 2>&1 </dev/null &
	pid=$!
	tl_defer "stop_vol $pid '$mp'"
	tl_on_fail "echo '--- $work/$name.log' >&2; tail -20 '$work/$name.log' >&2"
	wait_until -p "$pid" 15 grep -q '^ready' "$work/$name.log" ||
		{ cat "$work/$name.log" >&2; tl_fail "mount $name ($subdir) did not come up"; }
	mountpoint -q "$mp" || tl_fail "$mp is not a mount point after ready"
	printf -v "MP_$name" '%s' "$mp"
	printf -v "PID_$name" '%s' "$pid"
}

# stop_vol PID MP : SIGTERM volfs_tool (it unmounts), SIGKILL after 10 s, then detach
# whatever is left at MP. Safe under set -e.
stop_vol() {
	tl_stop 10 "$1" volfs_tool
	umount -l "$2" 2>/dev/null || true
}
