#!/bin/bash
# SPDX-License-Identifier: MIT
# swarm3_stack.sh - issue 4 end to end on a three-node swarm:
#   * three dockerds, each in its own network namespace, one swarm (n1 manager);
#     node 2 has 10.0.0.0/24 on an interface (a LAN), node 3 a route to 10.0.1.0/24
#     through a VPN-like veth link: both clash with Docker's obvious choices;
#   * nfs-ganesha and a local registry (docker-registry) in a server namespace;
#   * both plugins built by scripts/make-plugin-dir.sh, pushed to the registry from n1 and
#     installed on every node with `docker plugin install --grant-all-permissions`;
#   * ingress recreated with the IPAM driver by scripts/swarm-ingress.sh;
#   * deploy/swarm-compose.yml deployed with stand-in images (docker import of busybox).
# Asserts: every task runs; a file the workflow manager (node 1) writes as uid 376 is read
# by the node-manager tasks on nodes 2 and 3; no overlay or ingress subnet overlaps any
# node's interfaces or routes; a --subnet that collides with node 2's LAN is refused,
# naming the node; removing and redeploying the stack keeps the data; a node without the
# volume plugin cannot run a task needing it until the plugin is installed there.
#
# Needs root, docker.io, docker-registry, nfs-ganesha(-vfs), rpcbind, busybox-static, and
# the release build (build/ipam-plugin/ipam-plugin, build/volume-plugin/volume-plugin).
set -euo pipefail
# shellcheck source=tests/lib/multinode.sh
. "$(dirname "$0")/../lib/multinode.sh"
# shellcheck source=tests/lib/ganesha.sh
. "$(dirname "$0")/../lib/ganesha.sh"
require_dockerd
require_registry
require_ganesha
tl_project_dirs

src=$PROJECT_SOURCE_DIR build=$PROJECT_BUILD_DIR
ipam_bin=$build/ipam-plugin/ipam-plugin ipam_cfg=$src/ipam-plugin/config.json
vol_bin=$build/volume-plugin/volume-plugin vol_cfg=$src/volume-plugin/config.json
for f in "$ipam_bin" "$vol_bin"; do
	[ -x "$f" ] || tl_skip "plugin binary $f not built (cmake --build $build)"
done
for f in "$ipam_cfg" "$vol_cfg"; do
	[ -f "$f" ] || tl_skip "plugin manifest $f missing"
done

IPAM=openmpf/ipam:latest VOL=openmpf/nfs-volume:latest STACK=openmpf
T0=$(tl_now_ms)
step() { tl_log "[$(($(tl_now_ms) - T0)) ms] $*"; }

DK_BASE=$(tl_tmpdir e2e-swarm3)
export DK_BASE

# declared CONFIG NAME : the manifest declares a setting (env or mount) called NAME
declared() { tr -d '\n' <"$1" | grep -qE "\"name\"[[:space:]]*:[[:space:]]*\"$2\""; }

step "plugin directories"
"$src/scripts/make-plugin-dir.sh" "$DK_BASE/plugins/ipam" "$ipam_cfg" "$ipam_bin"
"$src/scripts/make-plugin-dir.sh" "$DK_BASE/plugins/nfs-volume" "$vol_cfg" "$vol_bin"

step "network: 3 nodes + server namespace, clashing host networks on n2 and n3"
mn_net_up 3
mn_host_nets
srv_ns=$(mn_ns srv) srv=$(mn_srv_addr)
reg=$srv:5000

step "NFS server and registry in $srv_ns"
# standard ports: clients that know only server + export find them through rpcbind
NFS_PORT=2049 NFS_MNTPORT=20048 NFS_BIND=0.0.0.0 ganesha_up "$DK_BASE/nfs" "$DK_BASE/nfs/export" "$srv_ns"
registry_up "$DK_BASE/registry" "$srv_ns" "$srv" 5000

step "dockerd on every node (trusting the registry)"
mn_daemons_up 3 --insecure-registry "$reg"

# on failure: what swarm and the plugins said
dump_state() {
	local n
	echo "--- stack tasks" >&2
	dk n1 stack ps --no-trunc --format '{{.Name}} {{.Node}} {{.CurrentState}} {{.Error}}' "$STACK" >&2 2>/dev/null || true
	for n in $(mn_nodes); do
		echo "--- $n: $IPAM log" >&2
		dk_plugin_log "$n" "$IPAM" 25 >&2 2>/dev/null || true
		echo "--- $n: $VOL log" >&2
		dk_plugin_log "$n" "$VOL" 25 >&2 2>/dev/null || true
	done
}
tl_on_fail dump_state

step "push both plugins from n1 to the registry"
registry_push_plugin n1 "$DK_BASE/plugins/ipam" "$reg/$IPAM"
registry_push_plugin n1 "$DK_BASE/plugins/nfs-volume" "$reg/$VOL"

# per-node settings, only those the manifests declare
ipam_settings() {
	local n=$1 s=()
	declared "$ipam_cfg" state && { mkdir -p "$DK_BASE/$n/ipam-state"; s+=("state.source=$DK_BASE/$n/ipam-state"); }
	declared "$ipam_cfg" LOG_LEVEL && s+=(LOG_LEVEL=debug)
	declared "$ipam_cfg" SHARED_NETWORKS && s+=("SHARED_NETWORKS=nfs://$srv/export")
	declared "$ipam_cfg" NODE_NAME && s+=("NODE_NAME=$n")
	declared "$ipam_cfg" PUBLISH_INTERVAL && s+=(PUBLISH_INTERVAL=2)
	echo "${s[@]}"
}
vol_settings() {
	local n=$1 s=()
	declared "$vol_cfg" state && { mkdir -p "$DK_BASE/$n/vol-state"; s+=("state.source=$DK_BASE/$n/vol-state"); }
	declared "$vol_cfg" LOG_LEVEL && s+=(LOG_LEVEL=debug)
	declared "$vol_cfg" NFS_SERVER && s+=("NFS_SERVER=$srv")
	declared "$vol_cfg" NFS_EXPORT && s+=(NFS_EXPORT=/export)
	declared "$vol_cfg" NFS_PORT && s+=(NFS_PORT=2049)
	declared "$vol_cfg" NFS_MOUNT_PORT && s+=(NFS_MOUNT_PORT=20048)
	declared "$vol_cfg" NFS_TIMEOUT && s+=(NFS_TIMEOUT=5)
	declared "$vol_cfg" REFRESH_INTERVAL && s+=(REFRESH_INTERVAL=2)
	echo "${s[@]}"
}

step "install both plugins from the registry on every node (n3, n2, then the leader n1)"
for n in n3 n2 n1; do
	# shellcheck disable=SC2046  # word lists of KEY=VALUE settings (no spaces inside)
	registry_install_plugin "$n" "$reg/$IPAM" "$IPAM" $(ipam_settings "$n")
	# shellcheck disable=SC2046
	registry_install_plugin "$n" "$reg/$VOL" "$VOL" $(vol_settings "$n")
done
for n in $(mn_nodes); do
	for p in "$IPAM" "$VOL"; do
		[ "$(dk "$n" plugin inspect -f '{{.Enabled}}' "$p")" = true ] || tl_fail "$n: $p not enabled"
	done
done
tl_ok "both plugins installed from $reg and enabled on n1, n2, n3"

step "swarm"
mn_swarm_up

step "stand-in images on every node"
for n in $(mn_nodes); do
	dk_busybox_image "$n" bb:latest
	for img in openmpf_workflow_manager:latest openmpf_node_manager:latest openmpf_activemq:latest postgres:alpine; do
		dk "$n" tag bb:latest "$img"
	done
done

# the hosts' own networks, before anything of ours exists
for n in $(mn_nodes); do
	mn_host_networks "$n" >"$DK_BASE/hostnets.$n"
	tl_log "$n host networks: $(tr '\n' ' ' <"$DK_BASE/hostnets.$n")"
done
grep -qx 10.0.0.0/24 "$DK_BASE/hostnets.n2" || tl_fail "rig: n2 lacks its 10.0.0.0/24 LAN"
grep -qx 10.0.1.0/24 "$DK_BASE/hostnets.n3" || tl_fail "rig: n3 lacks its route to 10.0.1.0/24"

# check_subnets NETWORK : NETWORK uses our driver and its IPv4 subnets overlap no node's
# host networks (fails naming the subnet, the node and its network)
check_subnets() {
	local net=$1 drv subs s n h
	drv=$(dk n1 network inspect -f '{{.IPAM.Driver}}' "$net")
	[ "$drv" = "$IPAM" ] || tl_fail "network $net uses IPAM driver '$drv', want $IPAM"
	subs=$(dk n1 network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' "$net" | tr ' ' '\n' | grep '\.' || true)
	[ -n "$subs" ] || tl_fail "network $net has no IPv4 subnet"
	for s in $subs; do
		for n in $(mn_nodes); do
			while read -r h; do
				if cidr_overlaps "$s" "$h"; then
					tl_fail "network $net got subnet $s, which overlaps $h on $n"
				fi
			done <"$DK_BASE/hostnets.$n"
		done
	done
	tl_ok "network $net: subnet $(echo "$subs" | tr '\n' ' ')overlaps no node's interfaces or routes"
}

step "ingress with the IPAM driver (scripts/swarm-ingress.sh)"
DOCKER=$DOCKER DOCKER_HOST=unix://$DK_BASE/n1/docker.sock "$src/scripts/swarm-ingress.sh" --driver "$IPAM"
check_subnets ingress


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
	check_subnets "$ov"
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
# Swarm allocates overlay networks asynchronously on the leader (protocol digest 5.1):
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
# shellcheck disable=SC2046
registry_install_plugin n3 "$reg/$VOL" "$VOL" $(vol_settings n3)
wait_until 90 eval 'pinned_state | grep -q "^Running"' || tl_fail "pinned task did not run after installing the plugin on n3"
got=$(dk n3 exec "$(task_container n3 pinned)" cat /share/persist.txt)
[ "$got" = "persist-$token" ] || tl_fail "n3 pinned task read '$got'"
tl_ok "after installing the plugin on n3 the task runs and reads the shared data"

step "done"
echo "swarm3 stack e2e: all checks passed in $(($(tl_now_ms) - T0)) ms"
