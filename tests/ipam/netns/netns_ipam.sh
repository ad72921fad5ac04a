#!/bin/bash
# SPDX-License-Identifier: MIT
# netns_ipam.sh - the real ipam-plugin inside a network namespace whose interfaces and
# routes collide with the obvious choices (10.0.0.0/24, 10.0.1.0/24, ...). Proves that the
# driver skips exactly those (every routing table, /32 addresses, IPv6), not more, that a
# route added while it runs counts at once, that a requested subnet colliding with a host
# network is refused naming it, and that a node-local copy of a swarm pool colliding with
# this node's networks is refused while the global pool stays idempotent, and that a fresh
# host view read while addresses and routes change in bursts (as Docker makes them) does
# not fail.
#
#     netns_ipam.sh PATH/TO/ipam-plugin PATH/TO/ipam_call
#
# Needs root (network namespaces); exits 77 otherwise. Every address lives in the
# namespaces this test creates.
set -euo pipefail
PLUGIN=$(realpath "$1")
CALL=$(realpath "$2")
. "$(dirname "$0")/../../../scripts/lib/netns.sh"
# The expectations below are written for the range these tests were built on.
export POOLS=10.0.0.0/8:24 POOLS6=fd00::/8:64

[ "$(id -u)" = 0 ] || tl_skip "needs root to create network namespaces"
command -v ip >/dev/null || tl_skip "needs iproute2 (ip)"
command -v nsenter >/dev/null || tl_skip "needs nsenter (util-linux)"

host=$(ns_name ipam-host)
peer=$(ns_name ipam-peer)
dir=$(mktemp -d /tmp/ipam-netns.XXXXXX)
tl_defer "rm -rf '$dir'"
sock=$dir/ipam.sock
log=$dir/plugin.log
tl_on_fail "echo '--- plugin log:'; cat '$log'"

ns_add "$host"
ns_add "$peer"
# 10.0.0.0/24: an interface subnet (and its kernel route).
ns_veth "$host" eth1 10.0.0.5/24 "$peer" eth1 10.0.0.6/24
ip -n "$host" -6 addr add fd00::5/64 dev eth1 nodad
# 10.0.1.0/24: a route through the peer, main table.
ns_route "$host" 10.0.1.0/24 via 10.0.0.6
# 10.0.2.0/24: a route in another routing table (policy routing, VPN clients).
ns_route "$host" 10.0.2.0/24 dev eth1 table 100
# 10.0.3.77/32: a lone host address on a second link.
ns_veth "$host" eth2 10.0.3.77/32 "$peer" eth2 -
# The default route never counts.
ns_route "$host" default via 10.0.0.6

call() { "$CALL" "$sock" "$@"; }
# field JSON-LINE KEY : the string value of KEY in the reply (no jq needed)
field() { sed -n "s/.*\"$2\":\"\\([^\"]*\\)\".*/\\1/p" <<<"$1"; }
pool_req() { # SPACE POOL [EXTRA]
	call /IpamDriver.RequestPool "{\"AddressSpace\":\"$1\",\"Pool\":\"$2\",\"SubPool\":\"\",\"Options\":null,\"V6\":false${3:-}}"
}
expect_pool() { # SPACE WANT [EXTRA]
	local out
	out=$(pool_req "$1" "" "${3:-}") || tl_fail "RequestPool $1: $out"
	[ "$(field "$out" Pool)" = "$2" ] || tl_fail "RequestPool $1: got $(field "$out" Pool), want $2"
	tl_ok "RequestPool $1 -> $2"
}
log_has() { grep -qF -- "$1" "$log" || tl_fail "plugin log lacks: $1"; }

tl_log "starting the plugin inside $host"
# nsenter execs the plugin (no fork for a network namespace), so $! is the plugin itself.
# Our own resolv.conf: a DNS server inside the candidates must be avoided too.
printf 'nameserver 10.0.9.53\nnameserver 127.0.0.53\n' >"$dir/resolv.conf"
LOG_LEVEL=debug nsenter --net="/run/netns/$host" -- "$PLUGIN" serve --socket "$sock" \
	--state-dir "$dir/state" --resolv-conf "$dir/resolv.conf" >"$log" 2>&1 &
pid=$!
tl_defer "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
wait_until 5 test -S "$sock" || tl_fail "socket not ready"
wait_until 5 call /IpamDriver.GetCapabilities >/dev/null || tl_fail "plugin does not answer"

# 10.0.0-2 are skipped as one span, 10.0.3.0/24 for the /32 address; 10.0.4.0/24 is free.
expect_pool openmpf-local 10.0.4.0/24
log_has "pool: skip 10.0.0.0/24 to 10.0.2.0/24 (3 subnets): overlap interface eth1 10.0.0.5/24"
log_has "route 10.0.1.0/24 via 10.0.0.6 dev eth1 table main"
log_has "route 10.0.2.0/24 dev eth1 table 100"
log_has "pool: skip 10.0.3.0/24: overlaps interface eth2 10.0.3.77/32"
if grep -q "skip 10.0.4.0/24" "$log"; then tl_fail "10.0.4.0/24 was skipped"; fi
tl_ok "skips exactly the colliding subnets, with reasons"

# A route added a moment ago counts for the very next decision.
ns_route "$host" 10.0.5.0/24 via 10.0.0.6
expect_pool openmpf-global 10.0.6.0/24
log_has "to 10.0.5.0/24 (2 subnets): overlap pool 10.0.4.0/24 in use (openmpf-local), route 10.0.5.0/24 via 10.0.0.6 dev eth1 table main"
# ... and a removed one frees its subnet again.
ip -n "$host" route del 10.0.5.0/24
expect_pool openmpf-local 10.0.5.0/24
# An address added on a link, then a route in another table, right before a request.
ip -n "$host" addr add 10.0.7.200/25 dev eth2
expect_pool openmpf-local 10.0.8.0/24
log_has "pool: skip 10.0.7.0/24: overlaps interface eth2 10.0.7.200/25"
call /IpamDriver.ReleasePool '{"PoolID":"openmpf-local/10.0.8.0/24"}' >/dev/null
ip -n "$host" addr del 10.0.7.200/25 dev eth2
ip -n "$host" route add 10.0.7.0/24 dev eth1 table 200
expect_pool openmpf-local 10.0.8.0/24
log_has "to 10.0.7.0/24 (4 subnets): overlap pool 10.0.4.0/24 in use (openmpf-local), pool 10.0.5.0/24 in use (openmpf-local), pool 10.0.6.0/24 in use (openmpf-global), route 10.0.7.0/24 dev eth1 table 200"
call /IpamDriver.ReleasePool '{"PoolID":"openmpf-local/10.0.8.0/24"}' >/dev/null
ip -n "$host" route del 10.0.7.0/24 dev eth1 table 200
tl_ok "routes added or removed while running count at once"

# IPv6: fd00::/64 is on eth1.
out=$(call /IpamDriver.RequestPool '{"AddressSpace":"openmpf-local","Pool":"","V6":true}') ||
	tl_fail "RequestPool v6: $out"
[ "$(field "$out" Pool)" = "fd00:0:0:1::/64" ] || tl_fail "v6: $out"
log_has "pool: skip fd00::/64: overlaps interface eth1 fd00::5/64"
tl_ok "IPv6 interface subnet skipped"

# A requested subnet that collides is refused, naming the culprit and suggesting another.
out=$(pool_req openmpf-local 10.0.1.0/24) && tl_fail "colliding --subnet accepted: $out"
case $out in
500*"subnet 10.0.1.0/24 collides with route 10.0.1.0/24 via 10.0.0.6 dev eth1 table main on this host; a free /24 is 10.0.7.0/24"*) ;;
*) tl_fail "unexpected refusal: $out" ;;
esac
out=$(pool_req openmpf-global 10.0.0.0/16) && tl_fail "colliding --subnet accepted: $out"
case $out in
500*"interface eth1 10.0.0.5/24"*"a free /16 is 10.1.0.0/16"*) ;;
*) tl_fail "unexpected refusal: $out" ;;
esac
tl_ok "colliding requested subnets refused with culprit and suggestion"

# Swarm: the leader's global pool, then this node gets a route into it (a VPN comes up):
# the node-local copy is refused visibly; the leader's explicit replay (a new allocator,
# which Docker announces with GetCapabilities) is granted again.
expect_pool openmpf-global 10.0.7.0/24
ns_route "$host" 10.0.7.128/25 via 10.0.0.6
out=$(pool_req openmpf-local 10.0.7.0/24) && tl_fail "colliding node copy accepted: $out"
case $out in
500*"collides with route 10.0.7.128/25 via 10.0.0.6 dev eth1 table main"*) ;;
*) tl_fail "unexpected refusal of the node copy: $out" ;;
esac
call /IpamDriver.GetCapabilities >/dev/null
out=$(pool_req openmpf-global 10.0.7.0/24) || tl_fail "global replay refused: $out"
[ "$(field "$out" PoolID)" = "openmpf-global/10.0.7.0/24" ] || tl_fail "replay: $out"
# This node held only a local copy (another node was leader); a VPN route comes up; then
# this node becomes leader and its allocator restores the network from raft: accepted.
pool_req openmpf-local 10.0.20.0/24 >/dev/null || tl_fail "node copy of 10.0.20.0/24 refused"
ns_route "$host" 10.0.20.0/25 via 10.0.0.6
out=$(pool_req openmpf-global 10.0.20.0/24) || tl_fail "restore after leader change refused: $out"
log_has "pool: granted 10.0.20.0/24 in openmpf-global: the swarm allocator restoring a network"
# A brand-new global request for a colliding subnet is still refused.
ns_route "$host" 10.0.22.0/24 via 10.0.0.6
out=$(pool_req openmpf-global 10.0.22.0/24) && tl_fail "colliding global --subnet accepted: $out"
tl_ok "node copy colliding with this node refused; global replay idempotent"

# The operator CLI sees the same view (fresh netlink dump, state dir of the plugin).
set +e
out=$(ns_exec "$host" "$PLUGIN" check 10.0.0.0/22 --state-dir "$dir/state" --resolv-conf "$dir/resolv.conf")
rc=$?
set -e
[ $rc = 1 ] || tl_fail "check exit $rc: $out"
for want in "10.0.0.0/22 collides with" "interface eth1 10.0.0.5/24" \
	"route 10.0.2.0/24 dev eth1 table 100" "interface eth2 10.0.3.77/32" "suggestion: 10.0.12.0/22"; do
	grep -qF -- "$want" <<<"$out" || tl_fail "check output lacks '$want': $out"
done
out=$(ns_exec "$host" "$PLUGIN" suggest --state-dir "$dir/state" --resolv-conf "$dir/resolv.conf" 2>&1) ||
	tl_fail "suggest: $out"
grep -qx "10.0.8.0/24" <<<"$out" || tl_fail "suggest: $out"
# 10.0.8.0/24 goes, then the nameserver's /24 is skipped.
expect_pool openmpf-local 10.0.8.0/24
expect_pool openmpf-local 10.0.10.0/24
log_has "pool: skip 10.0.9.0/24: overlaps nameserver 10.0.9.53 (resolv.conf)"
tl_ok "check and suggest agree with the running plugin; nameserver avoided"

# Tables that change while they are read (Docker adds bridges and veths while it asks for
# pools): a dump the kernel marks interrupted is read again, never failing the request.
# 3,000 routes and addresses make every dump span many reads; a route and an address
# flap all along.
for i in $(seq 0 2999); do
	echo "route add 10.200.$((i / 250)).$((i % 250))/32 dev eth1 table 200"
	echo "address add 10.203.$((i / 250)).$((i % 250))/32 dev eth2"
done | ip -n "$host" -batch - || tl_fail "rig: cannot add 3000 routes and addresses"
flap=$dir/flap
touch "$flap"
(
	# bursts as Docker makes them (a bridge: its address and routes), a few a second
	for i in $(seq 1 5); do
		echo "route add 10.201.0.0/24 dev eth1 table 201"
		echo "address add 10.202.0.1/32 dev eth2"
		echo "route del 10.201.0.0/24 dev eth1 table 201"
		echo "address del 10.202.0.1/32 dev eth2"
	done >"$dir/flap.batch"
	while [ -e "$flap" ]; do
		ip -n "$host" -batch "$dir/flap.batch" 2>/dev/null || true
		sleep 0.1 # pacing of the load, not synchronisation
	done
) &
flapper=$!
tl_defer "rm -f '$flap'; kill $flapper 2>/dev/null; wait $flapper 2>/dev/null"
fails=0
for i in $(seq 1 40); do
	out=$(ns_exec "$host" "$PLUGIN" suggest --state-dir "$dir/state" --resolv-conf "$dir/resolv.conf" 2>&1) ||
		{ fails=$((fails + 1)); last=$out; }
done
rm -f "$flap"
wait "$flapper" 2>/dev/null || true
[ "$fails" = 0 ] || tl_fail "$fails of 40 fresh host views failed while routes changed: $last"
tl_ok "40 fresh host views, all read while routes changed"

kill -TERM "$pid"
wait "$pid" || tl_fail "plugin exit status $?"
log_has "stopped; state is in"
# Decisions without a change in between reuse the cached dump.
requests=$(grep -c "http: /IpamDriver.RequestPool" "$log")
dumps=$(sed -n 's/.*host view: \([0-9]*\) netlink dumps.*/\1/p' "$log")
[ -n "$dumps" ] && [ "$dumps" -lt "$requests" ] || tl_fail "$dumps dumps for $requests requests"
tl_ok "$requests RequestPool calls needed $dumps netlink dumps"
tl_ok "clean exit on SIGTERM"
