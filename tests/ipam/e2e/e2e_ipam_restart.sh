#!/bin/bash
# SPDX-License-Identifier: MIT
# e2e_ipam_restart.sh - the ipam-plugin binary restarted and killed (issue 9), inside a
# network namespace, with SHARED_NETWORKS on a real NFS server (nfs-ganesha in a namespace
# of its own):
#   * restarted 20 times (SIGKILL, then start): the first read of SHARED_NETWORKS after
#     every start succeeds (the log says "reachable" and never "unreachable")
#   * killed (SIGKILL) 30 times while pools are being requested: the state loads after every
#     kill, every acknowledged pool is still held (RequestAddress in it succeeds), and no
#     temp file (*.tmp.*) is left in the state directory
#
#     e2e_ipam_restart.sh PATH/TO/ipam-plugin PATH/TO/ipam_call
#
# Needs root, network namespaces, nfs-ganesha (+ VFS backend), rpcbind and nftables;
# exits 77 otherwise. Every address lives in the namespaces this test creates.
set -euo pipefail
PLUGIN=$(realpath "$1")
CALL=$(realpath "$2")
. "$(dirname "$0")/../../../scripts/lib/ganesha.sh"

require_netns
require_ganesha

RESTARTS=${IPAM_RESTARTS:-20}
KILLS=${IPAM_KILLS:-30}
srv=$(ns_name iprs-srv)
a=$(ns_name iprs-a)
dir=$(tl_tmpdir ipam-restart)
: >"$dir/resolv.conf"
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")/../../lib" && pwd)/libnfs.lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

ns_add "$srv"
ns_add "$a"
ns_veth "$a" eth0 198.18.44.2/30 "$srv" a0 198.18.44.1/30
NFS_PORT=14349 NFS_MNTPORT=14350 NFS_BIND=0.0.0.0 ganesha_up "$dir/nfs" "$dir/nfs/export" "$srv" >/dev/null
url=$(ganesha_url "$dir/nfs" 198.18.44.1)
state=$dir/state
PID=""

start_node() {
	local lines
	lines=$(wc -l <"$dir/a.log" 2>/dev/null || echo 0)
	START_LINE=$((lines + 1))
	env LOG_LEVEL=debug SHARED_NETWORKS="$url" NODE_NAME=nA PUBLISH_INTERVAL=1 \
		PEER_STALE_AFTER=60 NFS_TIMEOUT=3 POOLS6=none \
		nsenter --net="/run/netns/$a" -- "$PLUGIN" serve --socket "$dir/a.sock" \
		--state-dir "$state" --resolv-conf "$dir/resolv.conf" >>"$dir/a.log" 2>&1 &
	PID=$!
	wait_until -p "$PID" 10 "$CALL" "$dir/a.sock" /IpamDriver.GetCapabilities >/dev/null ||
		tl_fail "the plugin does not answer after start"
}
kill_node() {
	[ -n "$PID" ] || return 0
	kill -KILL "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	PID=""
}
tl_defer kill_node
tl_on_fail "echo '--- tail of the log:'; grep -v 'http: ' '$dir/a.log' | tail -30"
since_start() { tail -n +"$START_LINE" "$dir/a.log"; }

# ---------------------------------------------------------------- restarts
for ((i = 1; i <= RESTARTS; i++)); do
	start_node
	wait_until -p "$PID" 15 eval "since_start | grep -q 'shared networks .* reachable'" ||
		tl_fail "restart $i: SHARED_NETWORKS never became reachable"
	if since_start | grep -E 'unreachable' >&2; then
		tl_fail "restart $i: the first NFS read after the start failed (above)"
	fi
	kill_node
done
retries=$(grep -c 'retrying on a fresh socket' "$dir/a.log" || true)
tl_ok "$RESTARTS restarts: the first read of SHARED_NETWORKS over NFS succeeded every time ($retries connects reset at once and retried)"

# ---------------------------------------------------------------- kill -9 under load
: >"$dir/acked"
for ((i = 1; i <= KILLS; i++)); do
	start_node
	# every acknowledged pool is still held: an address can be taken from it
	while read -r id; do
		out=$("$CALL" "$dir/a.sock" /IpamDriver.RequestAddress \
			"{\"PoolID\":\"$id\",\"Address\":\"\",\"Options\":null}") ||
			tl_fail "kill $i: acknowledged pool $id lost after the restart: $out"
	done <"$dir/acked"
	if find "$state" -name '*.tmp.*' | grep . >&2; then
		tl_fail "kill $i: temp files left in $state (above)"
	fi
	(
		for ((k = 0; k < 50; k++)); do
			out=$("$CALL" "$dir/a.sock" /IpamDriver.RequestPool \
				'{"AddressSpace":"openmpf-local","Pool":"","SubPool":"","Options":null,"V6":false}' 2>/dev/null) || exit 0
			id=$(sed -n 's/.*"PoolID":"\([^"]*\)".*/\1/p' <<<"$out")
			[ -n "$id" ] || exit 0
			echo "$id" >>"$dir/acked"
			# give pools back now and then, so that the space does not run out
			if [ $((k % 3)) = 2 ]; then
				sed -i "\|^$id\$|d" "$dir/acked" # no longer claimed held, then released
				"$CALL" "$dir/a.sock" /IpamDriver.ReleasePool "{\"PoolID\":\"$id\"}" >/dev/null 2>&1 || exit 0
			fi
		done
	) &
	loader=$!
	wait_until 10 eval "[ \$(wc -l < '$dir/acked') -ge 1 ]" || true
	kill_node
	wait "$loader" 2>/dev/null || true
done
start_node
if find "$state" -name '*.tmp.*' | grep . >&2; then tl_fail "temp files left in $state"; fi
tl_ok "$KILLS kill -9 during pool requests: state loaded each time, $(wc -l <"$dir/acked") held pools all kept, no temp file left"
kill_node
