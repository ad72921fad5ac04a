#!/bin/bash
# SPDX-License-Identifier: MIT
# netns_peers.sh - every node's networks count (issue 4 item 3), directory mode. Two
# network namespaces stand for two swarm nodes, each running the real ipam-plugin with
# SHARED_NETWORKS pointing to one shared temporary directory:
#   node B has 10.0.0.0/24 on an interface, node A a route to 10.0.1.0/24;
#   A's global-space choice skips 10.0.0.0/24 naming node B (and B's skips A's route);
#   an explicit global 10.0.0.0/24 on A is refused naming node B;
#   a local-space 10.0.0.0/24 on A (a bridge, a node copy) is granted: A's host lacks it;
#   the CLI check/suggest on A consider B's networks too;
#   B departs: once its document is stale it no longer pins 10.0.0.0/24;
#   the shared place becomes unreachable: a warning is logged, decisions go on, and it
#   is picked up again when it comes back.
#
#     netns_peers.sh PATH/TO/ipam-plugin PATH/TO/ipam_call
#
# Needs root (network namespaces); exits 77 otherwise. Every address lives in the
# namespaces this test creates.
set -euo pipefail
PLUGIN=$(realpath "$1")
CALL=$(realpath "$2")
. "$(dirname "$0")/../../../scripts/lib/netns.sh"
# shellcheck source=tests/lib/ipam_peers.sh
. "$(dirname "$0")/../../lib/ipam_peers.sh"
# The expectations below are written for the range these tests were built on.
export POOLS=10.0.0.0/8:24

require_netns

a=$(ns_name peers-a)
b=$(ns_name peers-b)
wire=$(ns_name peers-w)
dir=$(tl_tmpdir ipam-peers)
shared=$dir/shared
mkdir -p "$shared"
: >"$dir/resolv.conf" # no nameservers: only the networks placed below count

ns_add "$a"
ns_add "$b"
ns_add "$wire"
# Node B: a LAN on lan0 (10.0.0.0/24). Node A: a route to 10.0.1.0/24 (a VPN, say).
ns_veth "$b" lan0 10.0.0.1/24 "$wire" b0 10.0.0.2/24
ns_veth "$a" vpn0 198.18.7.1/30 "$wire" a0 198.18.7.2/30
ns_route "$a" 10.0.1.0/24 via 198.18.7.2

call() { # NODE PATH BODY
	local node=$1
	shift
	"$CALL" "$dir/$node.sock" "$@"
}
need_log() { log_has "$@" || tl_fail "log of node $1 lacks: $2"; }

tl_log "node B publishes first, then node A starts and reads it in its first round"
start_node "$b" nB "$shared"
wait_until 5 test -s "$shared/nB.json" || tl_fail "node B published nothing"
grep -qF '"dev":"lan0"' "$shared/nB.json" || tl_fail "nB.json lacks lan0: $(cat "$shared/nB.json")"
start_node "$a" nA "$shared"
need_log nA "peers: shared networks $shared as node nA: reachable; peers [nB]"
need_log nA "SHARED_NETWORKS=$shared NODE_NAME=nA PUBLISH_INTERVAL=1 PEER_STALE_AFTER=60 NFS_TIMEOUT=5"
wait_until 5 log_has nB "from nodes [nA]" || tl_fail "node B never read node A's document"
tl_ok "both nodes publish their documents and read each other's"

# Global space (the swarm leader's choices): every node's networks count.
expect_pool nA openmpf-global "" 10.0.2.0/24
need_log nA "pool: skip 10.0.0.0/24 to 10.0.1.0/24 (2 subnets): overlap interface lan0 10.0.0.1/24 on node nB, route 10.0.0.0/24 dev lan0 table main on node nB, route 10.0.1.0/24 via 198.18.7.2 dev vpn0 table main"
# A's pool is published with its grant, and B reads anew before deciding: B skips it too.
expect_pool nB openmpf-global "" 10.0.3.0/24
need_log nB "route 10.0.1.0/24 via 198.18.7.2 dev vpn0 table main on node nA"
need_log nB "swarm pool 10.0.2.0/24 on node nA"
tl_ok "global choices skip the other node's interface, route and pools, naming the node"
# B gives its pool back (the expectations below are for A's pool alone); wait until its
# document says so
pool_release nB openmpf-global/10.0.3.0/24
wait_until 5 bash -c "! grep -qF 10.0.3.0/24 '$shared/nB.json'" || tl_fail "node B still publishes 10.0.3.0/24 after releasing it"

expect_refused nA openmpf-global 10.0.0.0/24 \
	"subnet 10.0.0.0/24 collides with interface lan0 10.0.0.1/24 on node nB, route 10.0.0.0/24 dev lan0 table main on node nB; a free /24 is 10.0.3.0/24"
expect_refused nA openmpf-global 10.0.0.0/23 \
	"collides with route 10.0.1.0/24 via 198.18.7.2 dev vpn0 table main on this host, interface lan0 10.0.0.1/24 on node nB, route 10.0.0.0/24 dev lan0 table main on node nB; a free /23 is 10.0.4.0/23"
tl_ok "explicit global subnet colliding with another node's network refused, naming the node"

# Local space (bridges, this node's copy of a swarm network): this host's networks only.
expect_pool nA openmpf-local 10.0.0.0/24 10.0.0.0/24
pool_release nA openmpf-local/10.0.0.0/24
expect_pool nA openmpf-local "" 10.0.0.0/24
pool_release nA openmpf-local/10.0.0.0/24
expect_refused nA openmpf-local 10.0.1.0/24 "route 10.0.1.0/24 via 198.18.7.2 dev vpn0 table main on this host"
tl_ok "local-space requests consider this node's networks only"

# The operator CLI on node A sees node B's networks too (one synchronous round).
set +e
out=$(SHARED_NETWORKS=$shared NODE_NAME=nA ns_exec "$a" "$PLUGIN" check 10.0.0.0/24 \
	--state-dir "$dir/state-nA" --resolv-conf "$dir/resolv.conf" 2>&1)
rc=$?
set -e
[ $rc = 1 ] || tl_fail "check exit $rc: $out"
for want in "10.0.0.0/24 collides with 2 networks" "interface lan0 10.0.0.1/24 on node nB" \
	"suggestion: 10.0.3.0/24" "reachable; peers [nB]"; do
	grep -qF -- "$want" <<<"$out" || tl_fail "check output lacks '$want': $out"
done
out=$(SHARED_NETWORKS=$shared NODE_NAME=nA ns_exec "$a" "$PLUGIN" suggest \
	--state-dir "$dir/state-nA" --resolv-conf "$dir/resolv.conf" 2>&1) || tl_fail "suggest: $out"
grep -qx "10.0.3.0/24" <<<"$out" || tl_fail "suggest: $out"
grep -qF "on node nB" <<<"$out" || tl_fail "suggest gives no reasons naming node nB: $out"
# They only read: the running plugin stays the only writer of nA.json.
published_after() { [ "$(stat -c %Y "$shared/nA.json")" -gt "$1" ]; }
wait_until 5 published_after "$(stat -c %Y "$shared/nA.json")" || tl_fail "node A stopped publishing"
if log_has nA "another plugin publishes"; then tl_fail "the CLI looked like a namesake of node A"; fi
tl_ok "check and suggest consider the other nodes (read only)"

# Node B departs. Its document stays; once it is older than PEER_STALE_AFTER (by the
# store's clock) it stops pinning 10.0.0.0/24.
kill -TERM "$pid_nB"
wait "$pid_nB" || tl_fail "node B exit status $?"
[ -s "$shared/nB.json" ] || tl_fail "node B removed its document on exit"
expect_refused nA openmpf-global 10.0.0.0/24 "on node nB" # not stale yet
touch -d '-1 hour' "$shared/nB.json"
wait_until 10 log_has nA "ignoring departed nodes (no update for over 60 s): nB" ||
	tl_fail "node A never noticed that node B departed"
expect_pool nA openmpf-global 10.0.0.0/24 10.0.0.0/24
tl_ok "a departed node's stale document no longer pins its networks"

# The shared place becomes unreachable (a file where the directory was): a warning, and
# decisions carry on with this node's networks and the last copy.
rm -rf "$shared"
: >"$shared"
wait_until 10 log_has nA "peers: shared networks $shared unreachable" ||
	tl_fail "node A logged no warning for the unreachable shared place"
need_log nA "choosing with this node's networks and the last copy"
expect_pool nA openmpf-global "" 10.0.3.0/24
tl_ok "unreachable shared place: warning logged, decisions continue"
# (-p: the plugin retries within a second and may have made it already)
rm -f "$shared"
mkdir -p "$shared"
wait_until 10 test -s "$shared/nA.json" || tl_fail "node A did not publish again"
reachable_again() { [ "$(grep -cF "reachable: published as node nA" "$dir/nA.log")" -ge 2 ]; }
wait_until 5 reachable_again || tl_fail "no second 'reachable' log line"
tl_ok "shared place back: published again"

kill -TERM "$pid_nA"
wait "$pid_nA" || tl_fail "node A exit status $?"
need_log nA "stopped; state is in"
tl_ok "clean exit on SIGTERM with peer sharing on"
