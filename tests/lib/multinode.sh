# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# multinode.sh - N Docker "hosts" on one machine, each a dockerd in its own network, mount
# and UTS namespace, joined into one swarm, plus a server namespace every node reaches
# (for the NFS server and the registry).  Source it (bash only):
#
#     . "$PROJECT_SOURCE_DIR/tests/lib/multinode.sh"  # also sources registry.sh, dockerd.sh
#     require_dockerd
#     export DK_BASE=$(tl_tmpdir mn)
#     mn_net_up 3                  # hub bridge, node netns n1..n3, server netns; gone at exit
#     mn_host_nets                 # node 2: 10.0.0.0/24 LAN; node 3: VPN route to 10.0.1.0/24
#     mn_daemons_up 3 --insecure-registry "$(mn_srv_addr):5000"
#     mn_swarm_up                  # n1 manager, the others workers; waits until all Ready
#     for n in $(mn_nodes); do dk "$n" info -f '{{.Swarm.LocalNodeState}}'; done
#
# Topology (nothing is added to the root netns):
#   netns $MN_PREFIX-hub   bridge br0
#   netns $MN_PREFIX-nI    eth0 = $MN_NET.(10+I)/24, a veth whose peer is a port of br0;
#                          dockerd $DK_BASE/nI (hostname nI, cgroup parent /dk-nI)
#   netns $MN_PREFIX-srv   eth0 = $MN_NET.2/24 on br0: NFS server, registry
# mn_host_nets adds the "host networks" the IPAM driver must avoid:
#   node 2: lan0 10.0.0.1/24, a veth to netns $MN_PREFIX-lan2 (10.0.0.2), like a LAN
#   node 3: vpn0 198.18.250.1/30, a veth to netns $MN_PREFIX-vpn3 (198.18.250.2), with
#           a route 10.0.1.0/24 via 198.18.250.2 (a VPN), and 10.0.1.1/24 behind it
#
# Env: MN_PREFIX (default t<pid>-mn), MN_NET (default 198.19.0, from 198.18.0.0/15).
# Node directories need unique basenames across concurrently running tests: they are
# $DK_BASE/n1..nN, and DK_BASE is per test (tl_tmpdir), but the cgroup parent is
# /dk-nI; so two multinode tests must not run at the same time (ctest runs e2e serially).
#
# Limits of this machine (kernel without IPVS): service VIPs and the ingress routing mesh
# do not forward: use endpoint_mode dnsrr, tasks.<service>, or task IPs.

# shellcheck source=tests/lib/registry.sh
. "$(dirname "${BASH_SOURCE[0]}")/registry.sh"

MN_PREFIX=${MN_PREFIX:-$(ns_name mn)}
MN_NET=${MN_NET:-198.19.0}
MN_N=0

# mn_nodes : the node names, n1..nN
mn_nodes() {
	local i
	for ((i = 1; i <= MN_N; i++)); do echo "n$i"; done
}

# mn_ns NODE : the network namespace of NODE (n1.., srv, hub, lan2, vpn3)
mn_ns() { echo "$MN_PREFIX-$1"; }

# mn_addr NODE : the swarm address of NODE (nI) or of the server namespace (srv)
mn_addr() {
	case $1 in
	srv) echo "$MN_NET.2" ;;
	n*) echo "$MN_NET.$((10 + ${1#n}))" ;;
	esac
}

# mn_srv_addr : the server namespace's address (NFS server, registry)
mn_srv_addr() { mn_addr srv; }

# mn_net_up N : hub bridge, N node namespaces and the server namespace, all wired to br0
mn_net_up() {
	local n=$1 i t0
	t0=$(tl_now_ms)
	MN_N=$n
	ns_add "$(mn_ns hub)"
	ns_bridge "$(mn_ns hub)" br0
	for ((i = 1; i <= n; i++)); do
		ns_add "$(mn_ns "n$i")"
		ns_bridge_port "$(mn_ns hub)" br0 "$(mn_ns "n$i")" eth0 "$(mn_addr "n$i")/24" "v$i"
	done
	ns_add "$(mn_ns srv)"
	ns_bridge_port "$(mn_ns hub)" br0 "$(mn_ns srv)" eth0 "$(mn_srv_addr)/24" vsrv
	echo "multinode: network for $n nodes up in $(($(tl_now_ms) - t0)) ms ($MN_NET.0/24, prefix $MN_PREFIX)"
}

# mn_host_nets : the clashing host networks of issue 4 (node 2 LAN, node 3 VPN route)
mn_host_nets() {
	local lan vpn
	lan=$(mn_ns lan2) vpn=$(mn_ns vpn3)
	ns_add "$lan"
	ns_veth "$(mn_ns n2)" lan0 10.0.0.1/24 "$lan" eth0 10.0.0.2/24
	ns_add "$vpn"
	ns_veth "$(mn_ns n3)" vpn0 198.18.250.1/30 "$vpn" eth0 198.18.250.2/30
	ns_veth "$vpn" tun0 10.0.1.1/24 "$vpn" tun0p -
	ns_route "$(mn_ns n3)" 10.0.1.0/24 via 198.18.250.2 dev vpn0
}

# mn_host_networks NODE : the IPv4 networks NODE's host has (interface subnets and
# non-default routes of every table), one CIDR per line
mn_host_networks() {
	local ns
	ns=$(mn_ns "$1")
	{
		ip -n "$ns" -4 -o addr show | awk '{print $4}' | while read -r a; do cidr_network "$a"; done
		ip -n "$ns" -4 route show table all | awk '$1 ~ /^[0-9]/ {print $1}' | sed -E '/\//!s/$/\/32/'
	} | sort -u
}

# mn_daemons_up N [dockerd flags] : dockerd per node (stopped at exit, logs on failure)
mn_daemons_up() {
	local n=$1 i
	shift
	tl_defer "mn_daemons_down"
	for ((i = 1; i <= n; i++)); do
		tl_on_fail "dk_log_tail n$i 25"
	done
	for ((i = 1; i <= n; i++)); do
		dk_start "$(_dk_dir "n$i")" "$(mn_ns "n$i")" "$@" || return 1
	done
}

# mn_daemons_down : leave the swarm, then stop every node's dockerd in parallel
mn_daemons_down() {
	local node pids=()
	mn_swarm_leave
	for node in $(mn_nodes); do
		dk_stop "$(_dk_dir "$node")" >/dev/null &
		pids+=($!)
	done
	# only these: a bare `wait` would also wait for servers this shell started (registry)
	wait "${pids[@]}" 2>/dev/null || true
}

# mn_swarm_leave : every node leaves the swarm (best effort)
mn_swarm_leave() {
	local node
	for node in $(mn_nodes); do
		if [ -S "$(_dk_dir "$node")/docker.sock" ]; then
			dk "$node" swarm leave --force >/dev/null 2>&1 || true
		fi
	done
	return 0
}

# _mn_ready_count : nodes the manager sees Ready
_mn_all_ready() {
	[ "$(dk n1 node ls --format '{{.Status}}' 2>/dev/null | grep -c Ready)" -eq "$MN_N" ]
}

# mn_swarm_up : swarm init on n1, join the others as workers, wait until all are Ready
mn_swarm_up() {
	local t0 tok i a
	t0=$(tl_now_ms)
	a=$(mn_addr n1)
	dk n1 swarm init --advertise-addr "$a" --listen-addr "$a:2377" >/dev/null || return 1
	tok=$(dk n1 swarm join-token -q worker)
	for ((i = 2; i <= MN_N; i++)); do
		a=$(mn_addr "n$i")
		dk "n$i" swarm join --token "$tok" --advertise-addr "$a" --listen-addr "$a:2377" \
			"$(mn_addr n1):2377" >/dev/null || return 1
	done
	wait_until 60 _mn_all_ready || { dk n1 node ls >&2; return 1; }
	echo "multinode: swarm of $MN_N ready in $(($(tl_now_ms) - t0)) ms"
}
