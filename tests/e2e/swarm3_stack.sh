#!/bin/bash
# SPDX-License-Identifier: MIT
# swarm3_stack.sh - issues 4 and 7 end to end on a three-node swarm, in the operator's flow:
#   * three dockerds, each in its own network namespace, one swarm (n1 manager); node 2 has
#     10.0.0.0/24 on an interface (a LAN) and a route to 10.128.0.0/22, node 3 routes to
#     10.0.1.0/24 through a VPN-like veth link and 10.0.2.0/23 + 10.128.4.0/24 in table
#     100: they clash with Docker's obvious choices and with the IPAM default POOLS;
#   * nfs-ganesha and a local registry (docker-registry) in a server namespace;
#   * both plugins built by scripts/make-plugin-dir.sh, pushed to the registry from n1 and
#     installed on every node of the running swarm with `docker plugin install
#     --grant-all-permissions` and only the settings README's install names (the default
#     PUBLISH_INTERVAL: nothing here waits for the nodes' publications);
#   * AT ONCE after the last install: ingress recreated with the IPAM driver by
#     scripts/swarm-ingress.sh and deploy/swarm-compose.yml deployed (stand-in images).
# Asserts: ingress and the stack's overlay get subnets that overlap no node's interfaces
# or routes; every task runs and every node runs its node-manager; a file the workflow
# manager (node 1) writes as uid 376 is read by the node-manager tasks on nodes 2 and 3; a
# --subnet that collides with node 2's LAN is refused, naming the node; removing and
# redeploying the stack keeps the data; a node without the volume plugin cannot run a
# task needing it until the plugin is installed there.
#
# Needs root, docker.io, docker-registry, nfs-ganesha(-vfs), rpcbind, busybox-static, and
# the release build (build/ipam-plugin/ipam-plugin, build/volume-plugin/volume-plugin).
set -euo pipefail
# shellcheck source=tests/lib/multinode.sh
. "$(dirname "$0")/../lib/multinode.sh"
mn_require registry

src=$PROJECT_SOURCE_DIR
IPAM=$MN_IPAM VOL=$MN_VOL STACK=openmpf
T0=$(tl_now_ms)
step() { tl_log "[$(($(tl_now_ms) - T0)) ms] $*"; }

DK_BASE=$(tl_tmpdir e2e-swarm3)
export DK_BASE

step "plugin directories"
mn_plugin_dirs ipam vol

step "network: 3 nodes + server namespace, clashing host networks on n2 and n3"
mn_net_up 3
mn_host_nets

step "NFS server and registry in $(mn_ns srv)"
mn_servers_up

step "dockerd on every node (trusting the registry)"
mn_daemons_up 3 --insecure-registry "$MN_REG"

# on failure: what swarm and the plugins said
dump_state() {
	echo "--- stack tasks" >&2
	dk n1 stack ps --no-trunc --format '{{.Name}} {{.Node}} {{.CurrentState}} {{.Error}}' "$STACK" >&2 2>/dev/null || true
	MN_DUMP_LINES=25 mn_dump_plugins ipam vol
}
tl_on_fail dump_state

step "push both plugins from n1 to the registry"
mn_push_plugins ipam vol

step "swarm (n1 manager, n2 and n3 workers) and stand-in images on every node"
mn_swarm_up 1
for n in $(mn_nodes); do
	dk_busybox_image "$n" bb:latest
	for img in openmpf_workflow_manager:latest openmpf_node_manager:latest openmpf_activemq:latest postgres:alpine; do
		dk "$n" tag bb:latest "$img"
	done
done

# the hosts' own networks, before anything of ours exists
mn_snapshot_hostnets
grep -qx 10.0.0.0/24 "$DK_BASE/hostnets.n2" || tl_fail "rig: n2 lacks its 10.0.0.0/24 LAN"
grep -qx 10.0.1.0/24 "$DK_BASE/hostnets.n3" || tl_fail "rig: n3 lacks its route to 10.0.1.0/24"
grep -qx 10.0.2.0/23 "$DK_BASE/hostnets.n3" || tl_fail "rig: n3 lacks its table-100 route to 10.0.2.0/23"

# The leader first, as an operator starting on the manager would: its plugin starts
# before the others have published anything, so its decisions must read the shared place
# afresh (issue 7: the leader decided from a copy that held no peers).
step "install both plugins from the registry on every node (the leader n1, n2, then n3)"
for n in n1 n2 n3; do
	mn_install "$n" ipam
	mn_install "$n" vol
done
# no waiting from here on: the operator goes on at once
step "ingress with the IPAM driver (scripts/swarm-ingress.sh), at once"
DOCKER=$DOCKER DOCKER_HOST=unix://$DK_BASE/n1/docker.sock "$src/scripts/swarm-ingress.sh" --driver "$IPAM"
for n in $(mn_nodes); do
	for p in "$IPAM" "$VOL"; do
		[ "$(dk "$n" plugin inspect -f '{{.Enabled}}' "$p")" = true ] || tl_fail "$n: $p not enabled"
	done
done
tl_ok "both plugins installed from $MN_REG and enabled on n1, n2, n3"
mn_check_clear ingress || true

# converged : every service of the stack has all its replicas running
converged() {
	local out
	out=$(dk n1 stack services --format '{{.Replicas}}' "$STACK") || return 1
	[ -n "$out" ] || return 1
	! grep -vqE '^([1-9][0-9]*)/\1( .*)?$' <<<"$out"
}

ov=${STACK}_swarm_overlay
deploy() {
	E2E_TOKEN=$1 dk n1 stack deploy --resolve-image never \
		-c "$src/deploy/swarm-compose.yml" -c "$src/tests/e2e/swarm3-standins.yml" "$STACK" >/dev/null
	wait_until 30 dk n1 network inspect "$ov" || tl_fail "stack network $ov not created"
	mn_wait_subnet n1 "$ov" >/dev/null || tl_fail "stack network $ov got no subnet within 30 s"
	mn_check_clear "$ov" || true
	if ! wait_until 120 converged; then
		dk n1 stack services "$STACK" >&2
		tl_fail "stack $STACK did not converge within 120 s"
	fi
}

# task_container NODE SERVICE : the ID of SERVICE's running container on NODE (SERVICE is
# the full service name, e.g. openmpf_node-manager)
task_container() {
	dk "$1" ps -q -f "label=com.docker.swarm.service.name=$2" -f status=running | head -1
}

token=$RANDOM$RANDOM
step "deploy the example stack (token $token)"
deploy "$token"
dk n1 stack services "$STACK"
tl_ok "every service of the stack runs all its replicas"
for n in $(mn_nodes); do
	[ -n "$(task_container "$n" "${STACK}_node-manager")" ] || tl_fail "$n runs no node-manager task"
done
tl_ok "every node runs its node-manager task"
# every overlay in the swarm is ours and clear of every node's networks
for net in $(dk n1 network ls --filter driver=overlay --format '{{.Name}}'); do
	[ "$net" = ingress ] || [ "$net" = "$ov" ] || mn_check_clear "$net" || true
done

# the workflow manager runs on n1 (manager constraint); node managers one per node
wfm=$(task_container n1 "${STACK}_workflow-manager")
[ -n "$wfm" ] || tl_fail "workflow-manager task is not on n1"
read_wfm() { dk "$1" exec "$(task_container "$1" "${STACK}_node-manager")" cat /opt/mpf/share/wfm.txt; }
want="token $token uid 376"
for n in n2 n3; do
	wait_until 15 read_wfm "$n" || tl_fail "$n: node-manager cannot read wfm.txt"
	got=$(read_wfm "$n")
	[ "$got" = "$want" ] || tl_fail "$n read '$got', want '$want'"
done
owner=$(dk n2 exec "$(task_container n2 "${STACK}_node-manager")" stat -c %u /opt/mpf/share/wfm.txt)
[ "$owner" = 376 ] || tl_fail "wfm.txt is owned by uid $owner, want 376"
tl_ok "file written by the workflow manager on n1 (uid 376) is read on n2 and n3"

step "a requested subnet that collides with n2's LAN is refused, naming n2"
# Swarm allocates overlay networks asynchronously on the leader (docs/plugin-protocol.md 5.1):
# `network create` returns an ID even when the driver refuses, and the refusal shows only
# in the leader's dockerd log ("Failed allocation for network ..."), with our message.
clash_refused() { grep -F "Failed allocation for network $1" "$DK_BASE/n1/dockerd.log" | grep -q 'collides with'; }
if out=$(dk n1 network create -d overlay --attachable --ipam-driver "$IPAM" --subnet 10.0.0.0/24 clash 2>&1); then
	clash_id=$(echo "$out" | tail -1)
	wait_until 30 clash_refused "$clash_id" ||
		tl_fail "--subnet 10.0.0.0/24 was not refused although n2 has it on lan0"
	out=$(grep -F "Failed allocation for network $clash_id" "$DK_BASE/n1/dockerd.log" | tail -1)
	sub=$(dk n1 network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' clash 2>/dev/null || true)
	dk n1 network rm clash >/dev/null 2>&1 || true
	[ -z "$sub" ] || tl_fail "network clash was allocated $sub although the driver refused"
fi
case $out in *"on node n2"*) ;; *) tl_fail "refusal does not name n2: $out" ;; esac
tl_ok "refused: $(echo "$out" | grep -o 'IpamDriver.RequestPool:[^"]*' | head -1)"

step "volume status"
dk n1 volume inspect -f '{{.Driver}} {{json .Status}}' "${STACK}_shared_data" | tee "$DK_BASE/volstatus"
grep -q "^$VOL " "$DK_BASE/volstatus" || tl_fail "volume ${STACK}_shared_data does not use $VOL"

step "remove and redeploy the stack: the data stays"
dk n1 exec -u 376:376 "$wfm" sh -c "echo persist-$token > /opt/mpf/share/persist.txt"
# The 20.10 CLI removes the services and then at once the networks; a task still stopping
# makes that fail ("network ... is in use by task"). Docker's own race, not ours: finish
# the network removal once the tasks are gone.
dk n1 stack rm "$STACK" >/dev/null 2>&1 || tl_log "stack rm left the network to remove later"
stack_gone() {
	local n
	[ -z "$(dk n1 stack services -q "$STACK" 2>/dev/null)" ] || return 1
	for n in $(mn_nodes); do
		[ -z "$(dk "$n" ps -q -f "label=com.docker.stack.namespace=$STACK")" ] || return 1
	done
	dk n1 network inspect "$ov" >/dev/null 2>&1 || return 0
	dk n1 network rm "$ov" >/dev/null 2>&1 || true
	return 1
}
wait_until 60 stack_gone || tl_fail "stack $STACK not gone 60 s after stack rm"
tl_log "on the export: $(cd "$DK_BASE/nfs/export" && find . -name persist.txt | head -1)"
deploy "$token-2"
for n in n2 n3; do
	got=$(dk "$n" exec "$(task_container "$n" "${STACK}_node-manager")" cat /opt/mpf/share/persist.txt)
	[ "$got" = "persist-$token" ] || tl_fail "$n after redeploy read '$got', want 'persist-$token'"
done
tl_ok "after stack rm + deploy, nodes 2 and 3 read the data written before"

step "a node without the volume plugin"
dk n3 plugin disable -f "$VOL" >/dev/null
dk n3 plugin rm -f "$VOL" >/dev/null
dk n1 service create --detach -q --name pinned --init --constraint node.hostname==n3 \
	--mount "type=volume,source=${STACK}_shared_data,target=/share,volume-driver=$VOL" \
	--no-resolve-image bb:latest sleep 3600 >/dev/null
pinned_state() { dk n1 service ps --no-trunc --format '{{.CurrentState}} {{.Error}}' pinned; }
# dockerd retries the plugin lookup (1+2+4+8 s), then rejects the task: plugin "..." not found
wait_until 60 eval 'pinned_state | grep -qi "not found"' ||
	tl_fail "pinned task on n3 without the plugin was not rejected for it: $(pinned_state | head -3)"
if pinned_state | grep -q '^Running'; then tl_fail "task ran on n3 without the volume plugin"; fi
tl_ok "without the plugin the task on n3 is rejected: $(pinned_state | grep -i -m1 "not found")"
mn_install n3 vol
wait_until 90 eval 'pinned_state | grep -q "^Running"' || tl_fail "pinned task did not run after installing the plugin on n3"
got=$(dk n3 exec "$(task_container n3 pinned)" cat /share/persist.txt)
[ "$got" = "persist-$token" ] || tl_fail "n3 pinned task read '$got'"
tl_ok "after installing the plugin on n3 the task runs and reads the shared data"

step "done"
echo "swarm3 stack e2e: all checks passed in $(($(tl_now_ms) - T0)) ms"
