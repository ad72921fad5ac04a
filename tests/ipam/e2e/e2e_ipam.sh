#!/bin/bash
# SPDX-License-Identifier: MIT
# e2e_ipam.sh - the IPAM plugin under a real dockerd 20.10 (Debian's docker.io), started by
# scripts/lib/dockerd.sh in its own network namespace whose host networks collide with the
# obvious choices: eth1 10.0.0.1/24 and a route to 10.0.1.0/24.
#
#   1. plugin create/enable from the real plugin directory (manifest + rootfs)
#   2. a bridge network gets a non-colliding subnet; a container on it gets an address
#   3. a colliding --subnet is refused with our message (culprit + suggestion)
#   4. swarm init; an overlay network and a dnsrr service on it get addresses from us
#      (global space on the leader, local copy on the node)
#   5. ingress removed and recreated with the driver
#   6. plugin disable/enable keeps every allocation
#
#     e2e_ipam.sh PATH/TO/ipam-plugin PATH/TO/config.json
set -euo pipefail
BIN=$(realpath "$1")
CFG=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
# shellcheck source=scripts/lib/dockerd.sh
. "$top/scripts/lib/dockerd.sh"
require_dockerd
[ -x "$top/scripts/make-plugin-dir.sh" ] || tl_skip "scripts/make-plugin-dir.sh missing"

DRV=openmpf/ipam:latest
DK_BASE=$(tl_tmpdir dk-ipam)
export DK_BASE
work=$DK_BASE/work
mkdir -p "$work/state"
ns=$(ns_name n1)
peer=$(ns_name peer)

subnet_of() { dk n1 network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' "$1" 2>/dev/null; }
has_subnet() { [ -n "$(subnet_of "$1")" ]; }
plugin_log() { dk_plugin_log n1 "$DRV" 1000; }
# in_log TEXT : the plugin logged TEXT (no grep -q in a pipe: SIGPIPE under pipefail)
in_log() { local l; l=$(plugin_log); grep -qF -- "$1" <<<"$l"; }
tl_on_fail "echo '--- plugin log:'; dk_plugin_log n1 $DRV 80 || true"

dk_up n1 "$ns"
ns_add "$peer"
ns_veth "$ns" eth1 10.0.0.1/24 "$peer" eth1 10.0.0.2/24
ns_route "$ns" 10.0.1.0/24 via 10.0.0.2
dk_busybox_image n1 bb:latest >/dev/null

# 1. The real plugin directory, state in a directory of this test.
"$top/scripts/make-plugin-dir.sh" "$work/plugin" "$CFG" "$BIN" >/dev/null
dk_plugin_install n1 "$DRV" "$work/plugin" "state.source=$work/state" LOG_LEVEL=debug \
	POOLS=10.0.0.0/8:24
tl_ok "plugin $DRV created and enabled"

# 2. Bridge network: 10.0.0.0/24 (eth1) and 10.0.1.0/24 (route) are skipped.
dk n1 network create -d bridge --ipam-driver "$DRV" br1 >/dev/null
[ "$(subnet_of br1)" = 10.0.2.0/24 ] || tl_fail "br1 subnet $(subnet_of br1), want 10.0.2.0/24"
ip=$(dk n1 run --rm --init --network br1 bb:latest ip -4 -o addr show eth0 | awk '{print $4}')
[ "$ip" = 10.0.2.2/24 ] || tl_fail "container on br1 got '$ip', want 10.0.2.2/24"
in_log "skip 10.0.0.0/24 to 10.0.1.0/24 (2 subnets): overlap interface eth1 10.0.0.1/24" ||
	tl_fail "plugin log lacks the skip reasons"
tl_ok "bridge network br1 got 10.0.2.0/24 (skipped eth1 and the route); container got $ip"

# 3. A colliding --subnet fails with our message.
if out=$(dk n1 network create -d bridge --ipam-driver "$DRV" --subnet 10.0.1.0/24 bad 2>&1); then
	tl_fail "colliding --subnet accepted: $out"
fi
case $out in
*"IpamDriver.RequestPool: subnet 10.0.1.0/24 collides with route 10.0.1.0/24 via 10.0.0.2 dev eth1 table main on this host; a free /24 is 10.0.3.0/24"*) ;;
*) tl_fail "unexpected error: $out" ;;
esac
tl_ok "colliding --subnet refused: ${out##*IpamDriver.RequestPool: }"

# 4. Swarm: the default ingress (built-in IPAM) takes 10.0.0.0/24, which collides with eth1.
dk n1 swarm init --advertise-addr 10.0.0.1 --listen-addr 10.0.0.1:2377 >/dev/null
tl_ok "swarm initialised; default ingress $(subnet_of ingress)"
dk n1 network create -d overlay --attachable --ipam-driver "$DRV" ov1 >/dev/null
wait_until 30 has_subnet ov1 || tl_fail "ov1 never got a subnet"
[ "$(subnet_of ov1)" = 10.0.3.0/24 ] || tl_fail "ov1 subnet $(subnet_of ov1), want 10.0.3.0/24"
dk n1 service create --detach --name web --network ov1 --endpoint-mode dnsrr --init \
	bb:latest sleep 3600 >/dev/null
running() { dk n1 service ps web --format '{{.CurrentState}}' 2>/dev/null | grep -q '^Running'; }
wait_until 60 running || { dk n1 service ps --no-trunc web >&2; tl_fail "web task not running"; }
cid=$(dk n1 ps -q --filter label=com.docker.swarm.service.name=web | head -1)
task_ip=$(dk n1 inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$cid")
case $task_ip in 10.0.3.*) ;; *) tl_fail "task address '$task_ip' not in 10.0.3.0/24" ;; esac
in_log "pool: chose 10.0.3.0/24 in openmpf-global" ||
	tl_fail "ov1 was not chosen in the global space"
in_log "pool: granted requested 10.0.3.0/24 in openmpf-local" ||
	tl_fail "the node's local copy of ov1 was not requested from us"
tl_ok "overlay ov1 10.0.3.0/24 (global pool + node copy); dnsrr task at $task_ip"

# 5. Ingress recreated with our driver (no service publishes ports).
echo y | dk n1 network rm ingress >/dev/null
gone() { ! dk n1 network inspect ingress >/dev/null 2>&1; }
wait_until 30 gone || tl_fail "ingress not removed"
dk n1 network create -d overlay --ingress --ipam-driver "$DRV" ingress >/dev/null
wait_until 30 has_subnet ingress || tl_fail "new ingress never got a subnet"
[ "$(subnet_of ingress)" = 10.0.4.0/24 ] || tl_fail "ingress subnet $(subnet_of ingress)"
[ "$(dk n1 network inspect -f '{{.IPAM.Driver}}' ingress)" = "$DRV" ] ||
	tl_fail "ingress IPAM driver is not $DRV"
tl_ok "ingress recreated with $DRV: $(subnet_of ingress)"

# 6. Plugin restart: nothing is handed out twice afterwards.
dk n1 plugin disable -f "$DRV" >/dev/null
dk n1 plugin enable "$DRV" >/dev/null
ls "$work/state/openmpf-ipam/pools" | grep -q 'global_10.0.3.0_24.json' || tl_fail "state files missing"
dk n1 network create -d bridge --ipam-driver "$DRV" br2 >/dev/null
[ "$(subnet_of br2)" = 10.0.5.0/24 ] || tl_fail "br2 subnet $(subnet_of br2), want 10.0.5.0/24"
ip=$(dk n1 run --rm --init --network br1 bb:latest ip -4 -o addr show eth0 | awk '{print $4}')
case $ip in 10.0.2.*/24) ;; *) tl_fail "container on br1 after restart got '$ip'" ;; esac
dk n1 service scale --detach web=2 >/dev/null
two() { [ "$(dk n1 service ps web --filter desired-state=running --format '{{.CurrentState}}' | grep -c '^Running')" = 2 ]; }
wait_until 60 two || tl_fail "web did not scale to 2"
ips=$(dk n1 ps -q --filter label=com.docker.swarm.service.name=web |
	xargs "$DOCKER" -H "unix://$DK_BASE/n1/docker.sock" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' | sort -u | wc -l)
[ "$ips" = 2 ] || tl_fail "the two web tasks share an address"
tl_ok "after disable/enable: br2 got 10.0.5.0/24, br1 container $ip, two distinct task addresses"

# Clean removal: networks give their pools back.
dk n1 service rm web >/dev/null
dk n1 network rm br1 br2 >/dev/null
echo "e2e_ipam: all checks passed"
