#!/bin/bash
# SPDX-License-Identifier: MIT
# ipam_leader.sh - issue 7: the IPAM driver across a swarm leader change.
#   * three dockerds (netns-isolated), all three swarm managers; node 2 and node 3 have
#     the clashing host networks of mn_host_nets; the IPAM plugin installed from a local
#     registry on every node with SHARED_NETWORKS on an nfs-ganesha export;
#   * ingress recreated with the driver, three overlays ov1..ov3 from the driver, a
#     service on ov1 and ov2;
#   * the leader's (n1's) dockerd is stopped: a new leader's allocator starts and replays
#     every network to its own plugin, which never allocated them.
# Asserts, on the new leader: the existing networks keep their subnets; two new overlays
# get subnets that overlap none of the existing ones nor any node's host networks; a new
# service scaled up gets no address twice. Then n1 comes back (a manager again, its
# plugin restarted from its state): subnets unchanged, a further overlay and a further
# scale-up still collide with nothing. Last, a new network asking (--subnet) for the
# subnet an existing network holds is refused (the replay rule: one grant per network
# per allocator session).
#
# Needs root, docker.io, docker-registry, nfs-ganesha(-vfs), rpcbind, busybox-static and
# the release build of ipam-plugin.
set -euo pipefail
# shellcheck source=tests/lib/multinode.sh
. "$(dirname "$0")/../lib/multinode.sh"
mn_require registry

src=$PROJECT_SOURCE_DIR IPAM=$MN_IPAM
T0=$(tl_now_ms)
step() { tl_log "[$(($(tl_now_ms) - T0)) ms] $*"; }

DK_BASE=$(tl_tmpdir e2e-ipam-leader)
export DK_BASE

mn_plugin_dirs ipam
step "network: 3 nodes + server namespace, clashing host networks on n2 and n3"
mn_net_up 3
mn_host_nets
mn_servers_up
mn_daemons_up 3 --insecure-registry "$MN_REG"
tl_on_fail "mn_dump_plugins ipam"
mn_push_plugins ipam

step "swarm of three managers; the IPAM plugin on every node"
mn_swarm_up 3
for n in $(mn_nodes); do dk_busybox_image "$n" bb:latest; done
mn_snapshot_hostnets
# the leader last: its plugin starts when the others have published (the fresh view at
# decision time is ipam_outage's and swarm3_stack's subject, not this test's)
for n in n3 n2 n1; do mn_install "$n" ipam; done
[ "$(mn_leader)" = n1 ] || tl_fail "rig: the leader is $(mn_leader || echo none), want n1"

# subnets of the networks so far, "NAME SUBNET" lines, as the leader sees them
NETS=$DK_BASE/nets
: >"$NETS"
# add_net LEADER NAME : wait for NAME's subnet, check it, record it
add_net() {
	local s
	if ! s=$(mn_wait_subnet "$1" "$2"); then
		tl_check_fail "network $2 got no subnet within 30 s (leader $1): $(dk "$1" network inspect "$2" 2>&1 | head -3 | tr '\n' ' ')"
		return 0
	fi
	mn_check_clear "$2" "$1" || true
	echo "$2 $s" >>"$NETS"
}
# same_subnets NODE : every recorded network has the recorded subnet as NODE sees it
same_subnets() {
	local n s got bad=0
	while read -r n s; do
		got=$(mn_subnets "$1" "$n")
		if [ "$got" != "$s" ]; then
			tl_check_fail "on $1, network $n has subnet '${got:-none}', had $s"
			bad=1
		fi
	done <"$NETS"
	[ "$bad" = 1 ] || tl_ok "on $1, all $(wc -l <"$NETS") networks keep their subnets"
}
# overlay LEADER NAME : an attachable overlay from our driver, created on LEADER
overlay() {
	dk "$1" network create -d overlay --attachable --ipam-driver "$IPAM" "$2" >/dev/null
	add_net "$1" "$2"
}
# scale LEADER N : service web runs N replicas, no address given twice
scale() {
	dk "$1" service scale -d web="$2" >/dev/null
	wait_until 90 mn_service_running "$1" web "$2" ||
		tl_check_fail "service web: not $2/$2 running within 90 s: $(dk "$1" service ps --no-trunc --format '{{.Node}} {{.CurrentState}} {{.Error}}' web | sort | uniq -c | head -5 | tr '\n' ';')"
	mn_check_unique_addrs "$1" web || true
}

step "ingress and ov1..ov3 from the IPAM driver; service web on ov1 and ov2"
DOCKER=$DOCKER DOCKER_HOST=unix://$DK_BASE/n1/docker.sock "$src/scripts/swarm-ingress.sh" --driver "$IPAM" >/dev/null
add_net n1 ingress
for i in 1 2 3; do overlay n1 "ov$i"; done
mn_check_disjoint "before the leader change" <"$NETS" || true
dk n1 service create -d -q --name web --init --network ov1 --network ov2 --replicas 3 \
	--no-resolve-image bb:latest sleep 3600 >/dev/null
scale n1 3

step "stop the leader's (n1's) dockerd"
dk_stop "$(_dk_dir n1)"
# the new leader, once the two others agree on one
new_leader() { l=$(mn_leader n2 n3) && [ "$l" != n1 ]; }
wait_until 60 new_leader || tl_fail "no new leader among n2, n3 within 60 s"
L=$(mn_leader n2 n3)
tl_ok "new leader: $L"
# the new leader's allocator replays every network before it serves new ones
wait_until 30 eval "dk $L network ls >/dev/null" || tl_fail "$L does not answer network ls"
same_subnets "$L"

step "on the new leader $L: two new overlays, a held subnet asked for by a new network, scale up"
overlay "$L" ov4
overlay "$L" ov5
mn_check_disjoint "after the leader change" <"$NETS" || true
scale "$L" 8

step "bring n1 back"
dk_start "$(_dk_dir n1)" "$(mn_ns n1)" --insecure-registry "$MN_REG" >/dev/null
n1_back() {
	[ "$(dk "$L" node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}' | awk '$1 == "n1" {print $2, $3}')" = "Ready Reachable" ] &&
		[ "$(dk n1 plugin inspect -f '{{.Enabled}}' "$IPAM")" = true ]
}
wait_until 90 n1_back || tl_fail "n1 not back as a reachable manager with its plugin enabled within 90 s"
L=$(mn_leader) || tl_fail "no leader after n1 came back"
tl_ok "n1 is back as a manager; leader $L"
same_subnets "$L"
same_subnets n1
overlay "$L" ov6
mn_check_disjoint "after n1 came back" <"$NETS" || true
scale "$L" 12
# the service runs on n1 again (the scheduler spreads the new tasks)
[ -n "$(dk n1 ps -q -f label=com.docker.swarm.service.name=web -f status=running)" ] ||
	tl_check_fail "no task of web runs on n1 after it came back"

# last: where the driver wrongly grants it, removing the duplicate releases the pool the
# first network still uses, and whatever follows would fail for that reason
step "on the leader $L: a new network asks (--subnet) for the subnet ov1 holds"
held=$(awk '$1 == "ov1" {print $2}' "$NETS")
if [ -n "$held" ] && mn_expect_refused "$L" dup1 "$held"; then
	tl_ok "a new network asking for ov1's $held is refused: $MN_REFUSAL"
fi

step "done"
echo "ipam leader e2e: finished in $(($(tl_now_ms) - T0)) ms (${#TL_CHECK_FAILS[@]} failed checks)"
