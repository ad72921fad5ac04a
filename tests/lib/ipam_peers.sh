# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# ipam_peers.sh - IPAM plugin nodes for the tests of the cross-node part (peers,
# peer_sync): tests/ipam/netns/netns_peers.sh (shared directory) and
# tests/ipam/e2e/e2e_peers_nfs.sh (shared NFS export). Source it after netns.sh or
# ganesha.sh, with PLUGIN (the ipam-plugin binary), CALL (ipam_call) and dir (the test's
# scratch directory) set:
#
#     start_node NS NAME SHARED [ENV...]   the plugin in NS as node NAME; sets pid_NAME
#     pool_req NODE SPACE POOL             RequestPool on NODE; prints the reply
#     expect_pool NODE SPACE POOL WANT     RequestPool grants WANT, or the test fails
#     expect_refused NODE SPACE POOL TEXT  RequestPool is refused with TEXT, or it fails
#     pool_release NODE POOLID             ReleasePool on NODE, or the test fails
#     log_has NODE TEXT                    NODE's log holds TEXT

# start_node NS NAME SHARED [ENV...] : the plugin inside NS as node NAME publishing to and
# reading from SHARED (SHARED_NETWORKS: a directory or an nfs:// URL), one publication a
# second; ENV (KEY=VALUE) adds or overrides settings. Stopped at exit; its log is shown
# when the test fails. Sets pid_NAME.
start_node() {
	local ns=$1 name=$2 shared=$3 pid
	shift 3
	env LOG_LEVEL=debug SHARED_NETWORKS="$shared" NODE_NAME="$name" PUBLISH_INTERVAL=1 \
		PEER_STALE_AFTER=60 POOLS6=none "$@" \
		nsenter --net="/run/netns/$ns" -- "$PLUGIN" serve --socket "$dir/$name.sock" \
		--state-dir "$dir/state-$name" --resolv-conf "$dir/resolv.conf" \
		>"$dir/$name.log" 2>&1 &
	pid=$!
	printf -v "pid_$name" %s "$pid"
	tl_defer "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
	tl_on_fail "echo '--- log of node $name:'; grep -v 'http: ' '$dir/$name.log'"
	wait_until -p "$pid" 10 "$CALL" "$dir/$name.sock" /IpamDriver.GetCapabilities >/dev/null ||
		tl_fail "node $name does not answer"
}

pool_req() { # NODE SPACE POOL
	"$CALL" "$dir/$1.sock" /IpamDriver.RequestPool \
		"{\"AddressSpace\":\"$2\",\"Pool\":\"$3\",\"SubPool\":\"\",\"Options\":null,\"V6\":false}"
}

expect_pool() { # NODE SPACE POOL WANT
	local out
	out=$(pool_req "$1" "$2" "$3") || tl_fail "node $1 RequestPool $2 '$3': $out"
	case $out in *"\"Pool\":\"$4\""*) ;; *) tl_fail "node $1 RequestPool $2 '$3': got $out, want $4" ;; esac
}

expect_refused() { # NODE SPACE POOL TEXT
	local out
	out=$(pool_req "$1" "$2" "$3") && tl_fail "node $1 RequestPool $2 $3 granted: $out"
	case $out in 500*"$4"*) ;; *) tl_fail "node $1 RequestPool $2 $3: unexpected refusal: $out (want: $4)" ;; esac
}

pool_release() { # NODE POOLID
	"$CALL" "$dir/$1.sock" /IpamDriver.ReleasePool "{\"PoolID\":\"$2\"}" >/dev/null ||
		tl_fail "node $1: ReleasePool $2 failed"
}

log_has() { grep -qF -- "$2" "$dir/$1.log"; }
