#!/bin/bash
# SPDX-License-Identifier: MIT
# demo.sh - the one-command demo (README command 1). On a fresh Debian 12 machine, as root:
#
#     scripts/demo.sh            # = up: install, build, start everything, deploy, show
#     scripts/demo.sh status     # what the plugins chose, again
#     scripts/demo.sh down       # tear everything down
#
# "up" installs the packages it needs, builds both plugins, and starts, all inside a
# private network namespace (never touching a system Docker you may run):
#   - an embedded NFS server (nfs-ganesha, NFSv3) on the namespace's loopback,
#   - a "LAN" on a veth with 10.0.0.0/24 and a "VPN" route to 10.0.1.0/24: exactly the
#     subnets Docker's own choices would collide with,
#   - a private dockerd with both plugins created from the local build and enabled
#     (openmpf/nfs-volume:latest pointing at the embedded server, openmpf/ipam:latest),
#   - a one-node swarm whose ingress is recreated with the IPAM driver,
# then deploys deploy/swarm-compose.yml (stand-in images made from busybox) and shows the
# volume's status, the subnets chosen and the host networks they avoided.
#
# Needs: Debian 12, root, network access for apt-get (or SKIP_APT=1 with the packages of
# tests/install-deps.sh present). Nothing outside DEMO_DIR and the two namespaces changes.
#
# Env: DEMO_DIR (/var/tmp/openmpf-demo), DEMO_NS (openmpf-demo), SKIP_APT=1 (no apt-get).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
DEMO_DIR=${DEMO_DIR:-/var/tmp/openmpf-demo}
DEMO_NS=${DEMO_NS:-openmpf-demo}
export DK_BASE=$DEMO_DIR
STACK=openmpf
step_no=0
step() {
	step_no=$((step_no + 1))
	printf '\n\033[1m[%d/10] %s\033[0m\n' "$step_no" "$*"
}
die() {
	echo "demo: $*" >&2
	exit 1
}

libs() {
	# shellcheck source=scripts/lib/ganesha.sh
	. "$top/scripts/lib/ganesha.sh"
	# shellcheck source=scripts/lib/dockerd.sh
	. "$top/scripts/lib/dockerd.sh"
}

d() { dk "$DEMO_DIR/docker" "$@"; }

standin_images() {
	local rootfs=$DEMO_DIR/.bb-rootfs img
	[ -x "$rootfs/bin/busybox" ] || dk_busybox_rootfs "$rootfs"
	# Each stand-in records which node and uid wrote into the shared volume, then idles.
	for img in openmpf_workflow_manager openmpf_node_manager; do
		# shellcheck disable=SC2016  # expanded by the stand-in's shell, not here
		tar -C "$rootfs" -c . | d import \
			--change 'USER 376:376' \
			--change 'CMD ["sh","-c","mkdir -p /opt/mpf/share/nodes && echo \"$(hostname) uid=$(id -u)\" > /opt/mpf/share/nodes/$(hostname) && exec sleep 2147483647"]' \
			- "$img:latest" >/dev/null
	done
	for img in openmpf_activemq:latest postgres:alpine; do
		tar -C "$rootfs" -c . | d import --change 'CMD ["sleep","2147483647"]' - "$img" >/dev/null
	done
}

show() {
	local net
	echo "--- volume (docker volume inspect ${STACK}_shared_data):"
	d volume inspect "${STACK}_shared_data" -f '{{json .Status}}' 2>/dev/null | sed 's/^/    /' ||
		echo "    (not created yet)"
	echo "--- subnets chosen by openmpf/ipam:latest:"
	for net in ingress "${STACK}_swarm_overlay"; do
		printf '    %-24s %s\n' "$net" "$(d network inspect "$net" \
			-f '{{.IPAM.Driver}} {{range .IPAM.Config}}{{.Subnet}} gw {{.Gateway}}{{end}}' 2>/dev/null || echo '(none)')"
	done
	echo "--- host networks in the demo namespace (what had to be avoided):"
	ip -n "$DEMO_NS" -4 route show table all 2>/dev/null | grep -v -e '^local' -e '^broadcast' | sed 's/^/    /'
	echo "--- what the IPAM plugin decided (its log):"
	dk_plugin_log "$DEMO_DIR/docker" openmpf/ipam:latest 200 2>/dev/null |
		grep -E 'pool: (skip|chose|granted|refuse)' | tail -12 | sed 's/^/    /' || true
	echo "--- tasks:"
	d stack ps "$STACK" --format '    {{.Name}} {{.Node}} {{.CurrentState}} {{.Error}}' 2>/dev/null || true
	echo "--- files the stand-ins wrote into the shared volume (as uid 376):"
	d run --rm -v "${STACK}_shared_data:/s" bb:latest sh -c 'cat /s/nodes/* 2>/dev/null' | sed 's/^/    /' || true
	echo
	echo "Docker CLI for this demo:  docker -H unix://$DEMO_DIR/docker/docker.sock ..."
	echo "Tear down:                 $0 down"
}

up() {
	[ "$(id -u)" = 0 ] || die "run as root (it starts dockerd, an NFS server and network namespaces)"
	[ ! -e "/run/netns/$DEMO_NS" ] || die "a demo is already up (netns $DEMO_NS): '$0 status' or '$0 down'"

	step "Installing packages (tests/install-deps.sh)"
	"$top/tests/install-deps.sh"
	libs

	step "Building both plugins and their managed-plugin directories"
	"$top/scripts/build-plugins.sh" --out "$DEMO_DIR/plugins" >/dev/null
	echo "    $DEMO_DIR/plugins/{ipam,nfs-volume}"

	step "Network namespace $DEMO_NS with a LAN (10.0.0.0/24) and a VPN route (10.0.1.0/24)"
	NS_NO_DEFER=1 ns_add "$DEMO_NS"
	NS_NO_DEFER=1 ns_add "$DEMO_NS-lan"
	ns_veth "$DEMO_NS" lan0 10.0.0.1/24 "$DEMO_NS-lan" eth0 10.0.0.2/24
	ns_veth "$DEMO_NS" vpn0 198.18.251.1/30 "$DEMO_NS-lan" vpn0 198.18.251.2/30
	ip -n "$DEMO_NS" route add 10.0.1.0/24 via 198.18.251.2 dev vpn0

	step "Embedded NFS server (nfs-ganesha, NFSv3) on the namespace's loopback"
	mkdir -p "$DEMO_DIR/nfs/export"
	chmod 1777 "$DEMO_DIR/nfs/export"
	ganesha_conf "$DEMO_DIR/nfs" "$DEMO_DIR/nfs/export"
	ganesha_start "$DEMO_DIR/nfs" "$DEMO_NS"
	echo "    $(ganesha_url "$DEMO_DIR/nfs" 127.0.0.1)  (data in $DEMO_DIR/nfs/export)"

	step "Private dockerd ($DEMO_DIR/docker, inside $DEMO_NS)"
	dk_start "$DEMO_DIR/docker" "$DEMO_NS"

	step "Creating and enabling openmpf/nfs-volume:latest and openmpf/ipam:latest"
	# Docker does not create a plugin's bind-mount source: enable would fail without it.
	mkdir -p "$DEMO_DIR/state/nfs-volume" "$DEMO_DIR/state/ipam"
	dk_plugin_install "$DEMO_DIR/docker" openmpf/nfs-volume:latest "$DEMO_DIR/plugins/nfs-volume" \
		NFS_SERVER=127.0.0.1 NFS_EXPORT=/export NFS_PORT=12049 NFS_MOUNT_PORT=12050 DEFAULT_UID=376 DEFAULT_GID=376 \
		state.source="$DEMO_DIR/state/nfs-volume"
	dk_plugin_install "$DEMO_DIR/docker" openmpf/ipam:latest "$DEMO_DIR/plugins/ipam" \
		state.source="$DEMO_DIR/state/ipam"

	step "Swarm init, ingress recreated with the IPAM driver (scripts/swarm-ingress.sh)"
	d swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 >/dev/null
	DOCKER=/usr/bin/docker DOCKER_HOST="unix://$DEMO_DIR/docker/docker.sock" \
		"$top/scripts/swarm-ingress.sh"

	step "Stand-in images (busybox) for the stack's services"
	dk_busybox_image "$DEMO_DIR/docker" bb:latest
	standin_images

	step "docker stack deploy -c deploy/swarm-compose.yml $STACK"
	NODE_MANAGER_REPLICAS=1 d stack deploy -c "$top/deploy/swarm-compose.yml" "$STACK"
	if ! wait_until 120 all_running; then
		d stack ps "$STACK" --no-trunc >&2 || true
		die "the stack did not converge; see '$0 status' and $DEMO_DIR/docker/dockerd.log"
	fi

	step "What was chosen"
	wait_until 30 d run --rm -v "${STACK}_shared_data:/s" bb:latest sh -c 'ls /s/nodes/* >/dev/null 2>&1' || true
	show
}

all_running() {
	local want have
	want=$(d stack services "$STACK" --format '{{.Replicas}}' | awk -F/ '{s+=$2} END{print s+0}')
	have=$(d stack ps "$STACK" --filter desired-state=running --format '{{.CurrentState}}' | grep -c '^Running' || true)
	[ "$want" -gt 0 ] && [ "$have" -ge "$want" ]
}

down() {
	libs
	if [ -S "$DEMO_DIR/docker/docker.sock" ]; then
		d stack rm "$STACK" >/dev/null 2>&1 || true
		d swarm leave --force >/dev/null 2>&1 || true
	fi
	[ -d "$DEMO_DIR/docker" ] && dk_stop "$DEMO_DIR/docker" "" || true
	[ -d "$DEMO_DIR/nfs" ] && ganesha_stop "$DEMO_DIR/nfs" || true
	ns_del "$DEMO_NS-lan"
	ns_del "$DEMO_NS"
	rm -rf "$DEMO_DIR"
	echo "demo: down (namespace, daemons, NFS server and $DEMO_DIR removed)"
}

# usage : the comment block at the top of this file, without the comment marks
usage() { sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

case ${1:-up} in
up) up ;;
status) libs; show ;;
down) down ;;
-h | --help | help) usage ;;
*) echo "demo: unknown command '$1'" >&2; usage >&2; exit 2 ;;
esac
