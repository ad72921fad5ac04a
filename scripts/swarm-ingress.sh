#!/bin/bash
# SPDX-License-Identifier: MIT
# swarm-ingress.sh - recreate the swarm's `ingress` network with our IPAM driver, in one
# step (replaces the inspect / remove / recreate-with-a-hand-picked-subnet dance).
#
#     scripts/swarm-ingress.sh [--driver NAME:TAG] [--subnet CIDR] [--ipam-opt K=V]...
#                              [--force] [--timeout SECONDS]
#
#   --driver     IPAM driver (default openmpf/ipam:latest; the tag is required: swarm
#                cannot resolve an IPAM plugin named without it)
#   --subnet     ask for this subnet (the driver refuses it if it collides)
#   --ipam-opt   passed to the driver (repeatable)
#   --force      recreate even if ingress already uses the driver
#   --timeout    how long to wait for the old ingress to go away (default 30)
#
# Run it on a swarm manager, where the plugin is installed and enabled (DOCKER_HOST and
# DOCKER select the daemon and client as usual). It refuses, changing nothing, when a
# service publishes ports through the routing mesh (ingress mode): remove or update
# those services first. Exit status: 0 done (or nothing to do), 1 refused or failed.
set -euo pipefail

DOCKER=${DOCKER:-docker}
driver=openmpf/ipam:latest subnet="" force=0 timeout=30
opts=()
while [ $# -gt 0 ]; do
	case $1 in
	--driver) driver=$2; shift ;;
	--subnet) subnet=$2; shift ;;
	--ipam-opt) opts+=(--ipam-opt "$2"); shift ;;
	--force) force=1 ;;
	--timeout) timeout=$2; shift ;;
	-h | --help) sed -n '3,19p' "$0"; exit 0 ;;
	*) echo "swarm-ingress: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

die() {
	echo "swarm-ingress: $*" >&2
	exit 1
}
step() { echo "swarm-ingress: $*"; }

case $driver in
*:*) ;;
*) die "driver '$driver' has no tag: use '$driver:latest' (swarm resolves IPAM plugins only by NAME:TAG)" ;;
esac

[ "$("$DOCKER" info -f '{{.Swarm.ControlAvailable}}' 2>/dev/null)" = true ] ||
	die "this daemon is not a swarm manager (run it on a manager node)"
enabled=$("$DOCKER" plugin inspect -f '{{.Enabled}}' "$driver" 2>/dev/null) ||
	die "plugin $driver is not installed here (docker plugin install ... first, on every node)"
[ "$enabled" = true ] || die "plugin $driver is installed but disabled (docker plugin enable $driver)"

# ip4_int A.B.C.D : the address as a number
ip4_int() {
	local IFS=. a b c d
	read -r a b c d <<<"$1"
	echo $(((a << 24) | (b << 16) | (c << 8) | d))
}
# cidr4_overlap CIDR CIDR : true when the two IPv4 ranges share an address
cidr4_overlap() {
	local n1=${1%/*} p1=${1#*/} n2=${2%/*} p2=${2#*/} a b p
	case $1$2 in *:*) return 1 ;; esac
	p=$((p1 < p2 ? p1 : p2))
	a=$(ip4_int "$n1") b=$(ip4_int "$n2")
	[ $(((a ^ b) >> (32 - p))) -eq 0 ] 2>/dev/null || [ "$p" = 0 ]
}
# Docker's own allocator hands out the swarm's default address pool (overlays without
# --ipam-driver, a stack's _default network) from its bottom up: our POOLS must not hold
# that bottom, or both allocators give the same subnets to two networks. (The default
# POOLS, 10.128.0.0/9, lies in the top half of the default 10.0.0.0/8, which Docker only
# reaches after 32,768 networks.)
pools=$("$DOCKER" plugin inspect -f '{{range .Settings.Env}}{{println .}}{{end}}' "$driver" |
	sed -n 's/^POOLS=//p')
dpools=$("$DOCKER" info -f '{{range .Swarm.Cluster.DefaultAddrPool}}{{.}} {{end}}' 2>/dev/null || true)
for dp in ${dpools:-10.0.0.0/8}; do
	for p in ${pools//,/ }; do
		p=${p%%:*}
		if cidr4_overlap "$p" "${dp%/*}/32"; then
			echo "swarm-ingress: WARNING: $driver POOLS range $p holds the bottom of the swarm's default address pool $dp, where Docker's own allocator (overlays without --ipam-driver, a stack's _default network) starts: both may hand out the same subnets. Set POOLS outside it (docker plugin disable/set/enable) on every node." >&2
		fi
	done
done

current=""
if "$DOCKER" network inspect ingress >/dev/null 2>&1; then
	current=$("$DOCKER" network inspect -f '{{.IPAM.Driver}}' ingress)
	cur_sub=$("$DOCKER" network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' ingress)
	cur_sub=${cur_sub:-none }
	step "current ingress: IPAM driver '${current:-default}', subnet ${cur_sub% }"
	if [ "$current" = "$driver" ] && [ "$force" = 0 ] && [ -z "$subnet" ]; then
		step "ingress already uses $driver: nothing to do (--force recreates it)"
		exit 0
	fi
	# services publishing through the routing mesh hold the ingress network
	users=()
	for svc in $("$DOCKER" service ls -q); do
		ports=$("$DOCKER" service inspect -f \
			'{{range .Endpoint.Ports}}{{if eq (printf "%s" .PublishMode) "ingress"}}{{.PublishedPort}} {{end}}{{end}}' "$svc")
		if [ -n "${ports// /}" ]; then
			users+=("$("$DOCKER" service inspect -f '{{.Spec.Name}}' "$svc") (ports ${ports% })")
		fi
	done
	if [ ${#users[@]} -gt 0 ]; then
		die "refusing: these services publish ports through ingress: ${users[*]}. Remove them (or publish with mode=host), then run this again. Nothing was changed."
	fi
	step "removing ingress"
	echo y | "$DOCKER" network rm ingress >/dev/null
	deadline=$((SECONDS + timeout))
	while "$DOCKER" network inspect ingress >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || die "ingress still exists after ${timeout} s"
		sleep 0.2
	done
fi

step "creating ingress with IPAM driver $driver${subnet:+, subnet $subnet}"
args=(network create --driver overlay --ingress --ipam-driver "$driver")
[ -n "$subnet" ] && args+=(--subnet "$subnet")
args+=(${opts[@]+"${opts[@]}"} ingress)
deadline=$((SECONDS + timeout))
until out=$("$DOCKER" "${args[@]}" 2>&1); do
	# the old ingress may linger briefly in the allocator after it left the list
	case $out in
	*"already exists"* | *"ingress network"*"is being removed"*)
		[ "$SECONDS" -lt "$deadline" ] || die "could not create ingress: $out"
		sleep 0.2
		;;
	*) die "could not create ingress: $out${current:+ (the old ingress was removed; run this again once the cause is fixed)}" ;;
	esac
done
new_sub=$("$DOCKER" network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' ingress)
step "done: ingress uses $driver, subnet ${new_sub% }"
