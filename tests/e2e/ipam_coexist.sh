#!/bin/bash
# SPDX-License-Identifier: MIT
# ipam_coexist.sh - issue 7: the IPAM driver beside Docker's own allocator, on awkward
# hosts, and a bad setting that explains itself. One swarm of three netns-isolated
# dockerds (n1 manager), the plugin installed from a local registry on every node with
# SHARED_NETWORKS on an nfs-ganesha export and otherwise default settings:
#   * n2 is a systemd-resolved host (in its dockerd's mount namespace only):
#     /etc/resolv.conf holds only `nameserver 127.0.0.53`, /run/systemd/resolve/
#     resolv.conf names an upstream server in the first subnet the default POOLS offers
#     (10.128.0.53 with POOLS=10.128.0.0/9:24), the one every node would choose first;
#   * n3 is behind a full-tunnel VPN (routes 0.0.0.0/1 and 128.0.0.0/1 via a gateway in a
#     netns of ours, as OpenVPN's def1 installs them), connected after its dockerd started;
#   * interleaved on the swarm: overlays from Docker's default IPAM (ingress stays
#     Docker's) and from ours, a stack whose <stack>_default network is Docker's, local
#     bridges from both on n1 and n2, from ours on n3.
# Asserts: no two networks overlap (every node: the swarm's networks plus its own local
# ones); the VPN host gets subnets from our driver (a local bridge, and the overlays the
# leader decides with its routes in view) and they avoid no more than routes of at least
# /8 (the default ROUTES); no subnet of ours holds the resolved host's upstream DNS server;
# ROUTES=all on the VPN host leaves nothing free and the error names ROUTES; a bad setting
# (POOLS=10.0.0.0/33) still enables, and `docker network create` says what is wrong with
# which setting and how to fix it; the fix (disable, set, enable) works.
#
# Needs root, docker.io, docker-registry, nfs-ganesha(-vfs), rpcbind, busybox-static and
# the release build of ipam-plugin.
set -euo pipefail
# shellcheck source=tests/lib/multinode.sh
. "$(dirname "$0")/../lib/multinode.sh"
require_dockerd
require_registry
require_ganesha
tl_project_dirs

IPAM=$MN_IPAM STACK=mix
cfg=$PROJECT_SOURCE_DIR/ipam-plugin/config.json
# n2's upstream DNS server: .53 in the first candidate of the manifest's default POOLS
pools=$(mn_manifest_default ipam POOLS)
first=${pools%%,*}
first=${first%%:*}
[ -n "$first" ] || first=10.128.0.0/9
UPSTREAM=$(_int2ip $(($(_ip2int "${first%/*}") + 53)))
T0=$(tl_now_ms)
step() { tl_log "[$(($(tl_now_ms) - T0)) ms] $*"; }

DK_BASE=$(tl_tmpdir e2e-ipam-coexist)
export DK_BASE

mn_plugin_dirs ipam
step "network: 3 nodes + server namespace; NFS server, registry, dockerds"
mn_net_up 3
mn_servers_up
mn_daemons_up 3 --insecure-registry "$MN_REG"
tl_on_fail "mn_dump_plugins ipam"
mn_push_plugins ipam
mn_swarm_up 1
for n in $(mn_nodes); do dk_busybox_image "$n" bb:latest; done

step "n2: a systemd-resolved host (upstream $UPSTREAM); n3: a full-tunnel VPN"
dk_resolved_stub n2 "$UPSTREAM"
if [ "$(dk_host_exec n2 cat /etc/resolv.conf | grep -c '^nameserver')" != 1 ] ||
	! dk_host_exec n2 grep -qx 'nameserver 127.0.0.53' /etc/resolv.conf ||
	! dk_host_exec n2 grep -qx "nameserver $UPSTREAM" /run/systemd/resolve/resolv.conf; then
	tl_fail "rig: n2's resolv.conf files are not those of a systemd-resolved host"
fi
grep -q "^nameserver 127.0.0.53" /etc/resolv.conf && tl_fail "rig: the stub leaked into the host's /etc/resolv.conf"
vpn=$(mn_ns vpn3)
ns_add "$vpn"
ns_veth "$(mn_ns n3)" tun0 198.18.251.1/30 "$vpn" eth0 198.18.251.2/30
ns_route "$(mn_ns n3)" 0.0.0.0/1 via 198.18.251.2 dev tun0
ns_route "$(mn_ns n3)" 128.0.0.0/1 via 198.18.251.2 dev tun0
mn_snapshot_hostnets

step "the IPAM plugin on every node (defaults, SHARED_NETWORKS)"
for n in n1 n2 n3; do mn_install "$n" ipam; done

ours=() # "NODE NAME" of every network from our driver
# ov NAME [ipam] : an attachable overlay from Docker's IPAM or (ipam) ours, on n1
ov() {
	if [ "${2:-}" = ipam ]; then
		dk n1 network create -d overlay --attachable --ipam-driver "$IPAM" "$1" >/dev/null
		ours+=("n1 $1")
	else
		dk n1 network create -d overlay --attachable "$1" >/dev/null
	fi
	mn_wait_subnet n1 "$1" >/dev/null ||
		tl_check_fail "overlay $1 (${2:-default} IPAM) got no subnet within 30 s: $(mn_allocation_error n1 "$(dk n1 network inspect -f '{{.Id}}' "$1" 2>/dev/null)" | grep -o 'error="[^"]*' | head -1)"
}
# br NODE NAME [ipam] : a local bridge from Docker's IPAM or (ipam) ours, on NODE
br() {
	local out
	if [ "${3:-}" = ipam ]; then
		if out=$(dk "$1" network create -d bridge --ipam-driver "$IPAM" "$2" 2>&1); then
			ours+=("$1 $2")
		else
			tl_check_fail "$1: bridge $2 from $IPAM refused: $out"
		fi
	else
		out=$(dk "$1" network create -d bridge "$2" 2>&1) || tl_check_fail "$1: bridge $2 from Docker's IPAM refused: $out"
	fi
}

step "interleaved: Docker's overlays and bridges, ours"
ov d-ov1
ov o-ov1 ipam
br n1 d-br1
br n1 o-br1 ipam
ov d-ov2
ov o-ov2 ipam
br n2 o-br2 ipam
br n2 d-br2
br n3 o-br3 ipam
cat >"$DK_BASE/stack.yml" <<EOF
version: "3.8"
services:
  a:
    image: bb:latest
    command: ["sleep", "3600"]
    init: true
  b:
    image: bb:latest
    command: ["sleep", "3600"]
    init: true
    networks: [net]
networks:
  net:
    driver: overlay
    ipam:
      driver: $IPAM
EOF
dk n1 stack deploy --resolve-image never -c "$DK_BASE/stack.yml" "$STACK" >/dev/null
mn_wait_subnet n1 "${STACK}_default" >/dev/null || tl_check_fail "${STACK}_default got no subnet"
mn_wait_subnet n1 "${STACK}_net" >/dev/null || tl_check_fail "${STACK}_net got no subnet"
ours+=("n1 ${STACK}_net")
ov d-ov3
ov o-ov3 ipam
br n1 d-br3
br n1 o-br4 ipam

step "no two networks overlap, on any node"
# the swarm's networks (as the manager sees them) and each node's local ones
dk n1 network ls --filter scope=swarm --format '{{.Name}}' | while read -r net; do
	for s in $(mn_subnets n1 "$net"); do echo "$net $s"; done
done >"$DK_BASE/swarm-nets"
for n in $(mn_nodes); do
	{
		cat "$DK_BASE/swarm-nets"
		dk "$n" network ls --filter scope=local --format '{{.Name}}' | while read -r net; do
			for s in $(mn_subnets "$n" "$net"); do echo "$n/$net $s"; done
		done
	} >"$DK_BASE/nets.$n"
	mn_check_disjoint "swarm + $n's local networks" <"$DK_BASE/nets.$n" || true
done

step "ours avoid the hosts' networks (routes of at least /8), and n2's upstream DNS server"
# a swarm network must avoid every node's networks and n2's upstream DNS server; a local
# bridge only those of its own node
for e in "${ours[@]}"; do
	read -r n net <<<"$e"
	scope=$(dk "$n" network inspect -f '{{.Scope}}' "$net")
	if [ "$scope" = swarm ] || [ "$n" = n2 ]; then
		for s in $(mn_subnets "$n" "$net"); do
			if cidr_overlaps "$s" "$UPSTREAM/32"; then
				tl_check_fail "network $net ($scope, on $n) got $s, which holds n2's upstream DNS server $UPSTREAM"
			else
				tl_ok "network $net ($scope, on $n): $s avoids n2's upstream DNS server $UPSTREAM"
			fi
		done
	fi
	if [ "$scope" = swarm ]; then
		mn_check_clear "$net" "$n" || true
	else
		MN_CLEAR_NODES=$n mn_check_clear "$net" "$n" || true
	fi
done
if [ -n "$(mn_subnets n3 o-br3)" ]; then tl_ok "the full-tunnel VPN host n3 got a bridge subnet: $(mn_subnets n3 o-br3)"; fi

step "the VPN host with ROUTES=all: nothing is free, and the error names ROUTES"
# change_settings NODE KEY=VAL... : what README tells the operator (disable, set, enable);
# prints the enable's output, fails if a step fails
change_settings() {
	local n=$1
	shift
	if [ "$(dk "$n" plugin inspect -f '{{.Enabled}}' "$IPAM")" = true ]; then
		dk "$n" plugin disable -f "$IPAM" >/dev/null || return 1
	fi
	dk "$n" plugin set "$IPAM" "$@" &&
		dk "$n" plugin enable "$IPAM" 2>&1
}
if _mn_declared "$cfg" ROUTES; then
	if out=$(change_settings n3 ROUTES=all); then
		if out=$(dk n3 network create -d bridge --ipam-driver "$IPAM" o-all 2>&1); then
			tl_check_fail "ROUTES=all on the full-tunnel host n3 still gave o-all $(mn_subnets n3 o-all)"
		else
			case $out in
			*ROUTES*) tl_ok "nothing free with ROUTES=all, and the error says so: $out" ;;
			*) tl_check_fail "with ROUTES=all nothing is free on n3, but the error does not name ROUTES: $out" ;;
			esac
		fi
	else
		tl_check_fail "n3: disable / set ROUTES=all / enable failed: $out"
	fi
else
	tl_check_fail "the IPAM manifest declares no ROUTES setting"
fi

step "a bad setting: POOLS=10.0.0.0/33 on n3"
sets=(POOLS=10.0.0.0/33)
_mn_declared "$cfg" ROUTES && sets+=(ROUTES=/8)
t=$(tl_now_ms)
if out=$(change_settings n3 "${sets[@]}"); then
	tl_ok "the plugin enables with POOLS=10.0.0.0/33 (in $(($(tl_now_ms) - t)) ms)"
else
	tl_check_fail "docker plugin enable with POOLS=10.0.0.0/33 failed after $(($(tl_now_ms) - t)) ms: $out"
fi
if out=$(dk n3 network create -d bridge --ipam-driver "$IPAM" o-bad 2>&1); then
	tl_check_fail "with POOLS=10.0.0.0/33, network create succeeded: $(mn_subnets n3 o-bad)"
else
	miss=()
	for w in POOLS 10.0.0.0/33 "plugin set"; do
		case $out in *"$w"*) ;; *) miss+=("'$w'") ;; esac
	done
	if [ ${#miss[@]} -eq 0 ]; then
		tl_ok "the user sees why: $out"
	else
		tl_check_fail "network create with POOLS=10.0.0.0/33: the error lacks ${miss[*]}: $out"
	fi
fi
step "the fix the error names: disable, set, enable"
if out=$(change_settings n3 POOLS=10.128.0.0/9:24); then
	if out=$(dk n3 network create -d bridge --ipam-driver "$IPAM" o-fixed 2>&1); then
		tl_ok "after the fix, o-fixed got $(mn_subnets n3 o-fixed)"
	else
		tl_check_fail "after POOLS=10.128.0.0/9:24, network create still fails: $out"
	fi
else
	tl_check_fail "n3: disable / set POOLS=10.128.0.0/9:24 / enable failed: $out"
fi

step "done"
echo "ipam coexist e2e: finished in $(($(tl_now_ms) - T0)) ms (${#TL_CHECK_FAILS[@]} failed checks)"
