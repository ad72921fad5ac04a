#!/bin/bash
# SPDX-License-Identifier: MIT
# fs_restart.sh - the volume plugin binary restarted and killed (issue 9), standalone on a
# temp socket in a client network namespace, against nfs-ganesha in its own namespace:
#   * restarted 20 times (SIGKILL, then start) with a volume mounted: the first NFS work
#     after every start (re-establishing the mount, reading a file through it) succeeds,
#     and no connect fails ("mount failed" / POLLHUP) in its log
#   * killed (SIGKILL) 30 times while volumes are being created: the state loads after
#     every kill, every Create that was acknowledged is still listed, and no temp file
#     (*.tmp.*) is left in the state directory
# Needs root, /dev/fuse, nfs-ganesha, curl; exits 77 otherwise.
# Usage: fs_restart.sh   (PROJECT_BUILD_DIR: the build with volume-plugin/volume-plugin)
set -euo pipefail
# shellcheck source=scripts/lib/ganesha.sh
. "$(dirname "$0")/../../../scripts/lib/ganesha.sh"
tl_project_dirs
require_ganesha
require_netns
require_cmd curl:curl
[ -c /dev/fuse ] || tl_skip "no /dev/fuse (FUSE kernel module not available)"
bin=$PROJECT_BUILD_DIR/volume-plugin/volume-plugin
[ -x "$bin" ] || tl_skip "volume-plugin not built at $bin"

RESTARTS=${FS_RESTARTS:-20}
KILLS=${FS_KILLS:-30}
T=3
work=$(tl_tmpdir volrestart)
chmod 0755 "$work"
srv=$(ns_name vrs-srv) cli=$(ns_name vrs-cli)
ns_add "$srv"
ns_add "$cli"
ns_veth "$srv" eth0 198.18.43.1/30 "$cli" eth0 198.18.43.2/30
NFS_PORT=${FS_RESTART_NFS_PORT:-14249} NFS_MNTPORT=${FS_RESTART_MNT_PORT:-14250} NFS_BIND=0.0.0.0 \
	ganesha_up "$work/g" "$work/g/export" "$srv"
. "$work/g/ganesha.env"
server=198.18.43.1
sock=$work/vp.sock state=$work/state mnt=$work/mnt
PID=""

start_plugin() {
	rm -f "$sock"
	nsenter --net="/run/netns/$cli" -- env -i PATH="$PATH" NFS_SERVER=$server NFS_EXPORT="$G_PSEUDO" \
		NFS_PORT="$G_PORT" NFS_MOUNT_PORT="$G_MNTPORT" NFS_TIMEOUT=$T LOG_LEVEL=info \
		"$bin" --socket "$sock" --state-dir "$state" --mount-root "$mnt" >>"$work/plugin.log" 2>&1 </dev/null &
	PID=$!
	wait_until -p "$PID" 20 test -S "$sock" || tl_fail "the plugin did not serve its socket (log: $(tail -3 "$work/plugin.log"))"
}

kill_plugin() {
	[ -n "$PID" ] || return 0
	kill -KILL "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	PID=""
}
tl_defer 'kill_plugin; for m in "$mnt"/* "$mnt"/*/*; do umount -l "$m" 2>/dev/null || true; done'
tl_on_fail "echo '--- tail of $work/plugin.log' >&2; tail -30 '$work/plugin.log' >&2"

# call ENDPOINT JSON : POST to the plugin, the answer on stdout
call() { curl -sS --max-time 30 --unix-socket "$sock" -X POST -d "$2" "http://plugin/$1"; }

start_plugin
call VolumeDriver.Create '{"Name":"rv","Opts":{}}' | grep -q '"Err":""\|^{}$\|"Err": ""' ||
	tl_fail "Create rv: $(call VolumeDriver.Create '{"Name":"rv","Opts":{}}')"
out=$(call VolumeDriver.Mount '{"Name":"rv","ID":"c1"}')
mp=$(sed -n 's/.*"Mountpoint": *"\([^"]*\)".*/\1/p' <<<"$out")
[ -n "$mp" ] || tl_fail "Mount rv: $out"
echo "restart-me" >"$mp/probe.txt" || tl_fail "cannot write through the mount $mp"

# ---------------------------------------------------------------- restarts
for ((i = 1; i <= RESTARTS; i++)); do
	kill_plugin
	lines=$(wc -l <"$work/plugin.log")
	start_plugin
	# the plugin re-establishes the mount at start: its first NFS connection
	wait_until 10 test -e "$mp/probe.txt" ||
		tl_fail "restart $i: the volume is not served again ($(tail -n +"$((lines + 1))" "$work/plugin.log" | tail -3))"
	[ "$(cat "$mp/probe.txt")" = restart-me ] || tl_fail "restart $i: read through the mount"
	if tail -n +"$((lines + 1))" "$work/plugin.log" | grep -E 'mount failed|unreachable|cannot re-establish|connection refused|no answer' >&2; then
		tl_fail "restart $i: an NFS connect failed after the start (above)"
	fi
done
retries=$(grep -c 'retrying on a fresh socket' "$work/plugin.log" || true)
tl_ok "$RESTARTS restarts with a volume mounted: the first NFS work after each start succeeded ($retries connects reset at once and retried)"

# ---------------------------------------------------------------- kill -9 under load
: >"$work/acked"
for ((i = 1; i <= KILLS; i++)); do
	# creates in the background; each acknowledged one is recorded
	(
		for ((k = 0; k < 1000; k++)); do
			name=k$i-$k
			out=$(call VolumeDriver.Create "{\"Name\":\"$name\",\"Opts\":{}}" 2>/dev/null) || exit 0
			case $out in *'"Err":"'?*) exit 0 ;; esac
			echo "$name" >>"$work/acked"
		done
	) &
	loader=$!
	# kill once some creates went through (or soon after the first)
	wait_until 10 eval "[ \$(wc -l < '$work/acked') -ge $((i * 2)) ]" || true
	kill_plugin
	wait "$loader" 2>/dev/null || true
	start_plugin
	list=$(call VolumeDriver.List '{}')
	while read -r name; do
		grep -q "\"Name\": *\"$name\"" <<<"$list" || tl_fail "kill $i: acknowledged volume $name is missing after the restart"
	done <"$work/acked"
	if ls -a "$state" | grep -E '\.tmp\.' >&2; then
		tl_fail "kill $i: temp files left in $state (above)"
	fi
done
tl_ok "$KILLS kill -9 during creates: state loaded each time, $(wc -l <"$work/acked") acknowledged creates all kept, no temp file left"
kill_plugin
