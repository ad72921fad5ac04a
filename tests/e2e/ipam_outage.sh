#!/bin/bash
# SPDX-License-Identifier: MIT
# ipam_outage.sh - issue 7: the shared place (SHARED_NETWORKS on nfs-ganesha) is
# unreachable for the first seconds after the IPAM plugins start, and the operator goes on
# without waiting for anything.
#   * three dockerds (netns-isolated) with the clashing host networks of mn_host_nets
#     (node 2: LAN 10.0.0.0/24 and a route to 10.128.0.0/22; node 3: VPN routes to
#     10.0.1.0/24, and 10.0.2.0/23 + 10.128.4.0/24 in table 100);
#   * the NFS server is unreachable for every node while the plugin is installed from the
#     registry on n1, n2 and n3 (README's settings, the default PUBLISH_INTERVAL); the
#     block is lifted as soon as every node's plugin has run into it. MODE (the first
#     argument) says how: `reject` (default: a TCP reset, what the issue's leader logged
#     as "mount failed: Socket failed with POLLHUP"; every attempt fails at once) or
#     `drop` (a silent server: attempts hang until NFS_TIMEOUT or the block is lifted);
#   * then, at once, what the operator does next: swarm init / join, ingress recreated
#     with the driver (scripts/swarm-ingress.sh), a stack with an overlay from the driver
#     and a service on every node.
# Asserts: the block was hit by every node (the rig); ingress and the stack's overlay
# overlap no node's interfaces or routes; every node runs its task.
#
# Needs root, docker.io, docker-registry, nfs-ganesha(-vfs), rpcbind, nftables,
# busybox-static and the release build of ipam-plugin.
set -euo pipefail
# shellcheck source=tests/lib/multinode.sh
. "$(dirname "$0")/../lib/multinode.sh"
mn_require registry

MODE=${1:-reject}
case $MODE in reject | drop) ;; *) echo "usage: $0 [reject|drop]" >&2; exit 2 ;; esac
src=$PROJECT_SOURCE_DIR IPAM=$MN_IPAM STACK=outage
T0=$(tl_now_ms)
step() { tl_log "[$(($(tl_now_ms) - T0)) ms] $*"; }

DK_BASE=$(tl_tmpdir "e2e-ipam-outage-$MODE")
export DK_BASE

mn_plugin_dirs ipam
step "network: 3 nodes + server namespace, clashing host networks on n2 and n3"
mn_net_up 3
mn_host_nets
mn_servers_up
mn_daemons_up 3 --insecure-registry "$MN_REG"
dump_state() {
	echo "--- stack tasks" >&2
	dk n1 stack ps --no-trunc --format '{{.Name}} {{.Node}} {{.CurrentState}} {{.Error}}' "$STACK" >&2 2>/dev/null || true
	mn_dump_plugins ipam
}
tl_on_fail dump_state
mn_push_plugins ipam
for n in $(mn_nodes); do dk_busybox_image "$n" bb:latest; done
mn_snapshot_hostnets

step "the NFS server is unreachable ($MODE) for every node; install the IPAM plugin on n1, n2, n3"
mn_nfs_block "$MODE"
for n in n1 n2 n3; do
	t=$(tl_now_ms)
	mn_install "$n" ipam
	tl_log "$n: plugin installed and enabled in $(($(tl_now_ms) - t)) ms while the shared place is unreachable ($MODE)"
done
all_hit() {
	local n
	for n in $(mn_nodes); do [ "$(mn_nfs_hits "$n")" -gt 0 ] || return 1; done
}
wait_until 30 all_hit || tl_fail "rig: not every node's plugin tried the NFS server during the block (packets: n1 $(mn_nfs_hits n1), n2 $(mn_nfs_hits n2), n3 $(mn_nfs_hits n3))"
tl_ok "every node's plugin found the shared place unreachable ($MODE packets: n1 $(mn_nfs_hits n1), n2 $(mn_nfs_hits n2), n3 $(mn_nfs_hits n3))"
mn_nfs_unblock
step "the NFS server is reachable again; the operator goes on at once"

mn_swarm_up 1
step "ingress recreated with the driver, then the stack"
DOCKER=$DOCKER DOCKER_HOST=unix://$DK_BASE/n1/docker.sock "$src/scripts/swarm-ingress.sh" --driver "$IPAM"
mn_check_clear ingress || true

cat >"$DK_BASE/stack.yml" <<EOF
version: "3.8"
services:
  app:
    image: bb:latest
    command: ["sleep", "3600"]
    init: true
    networks: [net]
    deploy:
      mode: global
networks:
  net:
    driver: overlay
    ipam:
      driver: $IPAM
EOF
dk n1 stack deploy --resolve-image never -c "$DK_BASE/stack.yml" "$STACK" >/dev/null
mn_wait_subnet n1 "${STACK}_net" >/dev/null || tl_check_fail "stack network ${STACK}_net got no subnet within 30 s"
mn_check_clear "${STACK}_net" || true

# every node runs its task (a node whose host networks clash with the subnet refuses it)
runs_on() { [ -n "$(dk "$1" ps -q -f "label=com.docker.swarm.service.name=${STACK}_app" -f status=running)" ]; }
all_run() {
	local n
	for n in $(mn_nodes); do runs_on "$n" || return 1; done
}
if wait_until 60 all_run; then
	tl_ok "every node runs its task of ${STACK}_app"
else
	for n in $(mn_nodes); do
		runs_on "$n" || tl_check_fail "$n runs no task of ${STACK}_app: $(dk n1 service ps --no-trunc -f "node=$n" --format '{{.CurrentState}}|{{.Error}}' "${STACK}_app" | awk -F'|' '$2 != ""' | head -1)"
	done
fi

step "done"
echo "ipam outage e2e ($MODE): finished in $(($(tl_now_ms) - T0)) ms (${#TL_CHECK_FAILS[@]} failed checks)"
