#!/bin/bash
# SPDX-License-Identifier: MIT
# upgrade.sh - install, upgrade and logs as an operator meets them (issue 8):
#   * both plugins pushed to a local registry, installed on a fresh dockerd with the
#     default state mount source (no mkdir: /var/lib exists on every host; the daemon gets
#     a private /var/lib, DK_PRIVATE_VARLIB), the state subdirectories created by the
#     plugins themselves;
#   * a volume with data, an IPAM network (its pool), a container that used both;
#   * docker plugin upgrade of both to a rebuilt copy (README "Upgrade": disable,
#     upgrade, enable): the data is mountable, the volume definition and its mount state
#     file are kept, the pool is still held (same subnet, a new network gets another, a
#     container on the old network gets an address in it), Status.PluginVersion and the
#     start-up lines name the version;
#   * the real dockerd log: plugin info lines at level=info, no plugin line at
#     level=error after these normal operations.
# Needs root, docker.io, busybox-static, docker-registry, nfs-ganesha; exit 77 otherwise.
set -euo pipefail
# shellcheck source=tests/lib/multinode.sh
. "$(dirname "$0")/../lib/multinode.sh"
mn_require registry binaries

src=$PROJECT_SOURCE_DIR build=$PROJECT_BUILD_DIR
version=$("$build/volume-plugin/volume-plugin" --version | awk '{print $2}')
VOL=openmpf/nfs-volume:latest IPAM=openmpf/ipam:latest

DK_BASE=$(tl_tmpdir e2e-upgrade)
if [ "${TL_KEEP:-0}" != 1 ]; then tl_defer "rm -rf '$DK_BASE'"; fi
export DK_BASE

# Two builds of each plugin: the second a rebuilt copy (other mtimes: other digests).
for gen in 1 2; do
	SOURCE_DATE_EPOCH=$gen "$src/scripts/make-plugin-dir.sh" "$DK_BASE/v$gen/ipam" \
		"$src/ipam-plugin/config.json" "$build/ipam-plugin/ipam-plugin" >/dev/null
	SOURCE_DATE_EPOCH=$gen "$src/scripts/make-plugin-dir.sh" "$DK_BASE/v$gen/nfs-volume" \
		"$src/volume-plugin/config.json" "$build/volume-plugin/volume-plugin" >/dev/null
done

mn_net_up 1
srv=$(mn_srv_addr)
reg="$srv:5000"
export_dir=$DK_BASE/nfs/export
NFS_PORT=2049 NFS_MNTPORT=20048 NFS_BIND=0.0.0.0 ganesha_up "$DK_BASE/nfs" "$export_dir" "$(mn_ns srv)"
registry_up "$DK_BASE/registry" "$(mn_ns srv)" "$srv" 5000
DK_PRIVATE_VARLIB=1 mn_daemons_up 1 --insecure-registry "$reg"
varlib=$DK_BASE/n1/varlib
tl_on_fail "dk_plugin_log n1 $VOL 30 >&2; dk_plugin_log n1 $IPAM 30 >&2"

for gen in 1 2; do
	registry_push_plugin n1 "$DK_BASE/v$gen/ipam" "$reg/openmpf/ipam:build$gen"
	registry_push_plugin n1 "$DK_BASE/v$gen/nfs-volume" "$reg/openmpf/nfs-volume:build$gen"
done

# --- install with the default mount sources: no mkdir anywhere
if [ -e "$varlib/openmpf-ipam" ] || [ -e "$varlib/openmpf-nfs-volume" ]; then
	tl_fail "state directories exist before the install"
fi
registry_install_plugin n1 "$reg/openmpf/nfs-volume:build1" "$VOL" \
	NFS_SERVER="$srv" NFS_EXPORT=/export DEFAULT_UID=376 DEFAULT_GID=376
registry_install_plugin n1 "$reg/openmpf/ipam:build1" "$IPAM"
for d in openmpf-ipam openmpf-nfs-volume; do
	[ -d "$varlib/$d" ] || tl_fail "the plugin did not create /var/lib/$d"
done
tl_ok "both plugins installed and enabled with the default state source (/var/lib); they made /var/lib/openmpf-{ipam,nfs-volume}"

# --- normal operations: a volume with data, an IPAM network, a container using both
dk_busybox_image n1 bb:latest
dk n1 volume create -d "$VOL" shared >/dev/null
dk n1 network create -d bridge --ipam-driver "$IPAM" net1 >/dev/null
sub1=$(dk n1 network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' net1)
[ -n "$sub1" ] || tl_fail "net1 has no subnet"
dk n1 run --rm --init --network net1 -v shared:/s bb:latest sh -c 'echo before-upgrade > /s/data.txt'
[ -n "$(find "$varlib/openmpf-ipam/pools" -type f)" ] || tl_fail "no pool state in /var/lib/openmpf-ipam/pools"
grep -rqF '"shared"' "$varlib/openmpf-nfs-volume" || tl_fail "the volume state does not name 'shared'"
tl_ok "volume 'shared' written, network net1 got $sub1"

# --- the log so far: info lines at level=info, none at level=error
check_levels() {
	local id name bad
	for name in "$VOL" "$IPAM"; do
		id=$(dk_plugin_id n1 "$name")
		grep -F "plugin=$id" "$DK_BASE/n1/dockerd.log" | grep -q 'level=info.*: info: ' ||
			tl_fail "$name: no info line at level=info in dockerd's log"
		bad=$(grep -F "plugin=$id" "$DK_BASE/n1/dockerd.log" | grep 'level=error' || true)
		[ -z "$bad" ] || tl_fail "$name: lines at level=error after normal operations:
$bad"
	done
}
check_levels
dk_plugin_log n1 "$VOL" 400 | grep -q "volume-plugin $version serving" ||
	tl_fail "the volume plugin's start-up line does not name version $version"
dk_plugin_log n1 "$IPAM" 400 | grep -q "ipam-plugin $version serving" ||
	tl_fail "the IPAM plugin's start-up line does not name version $version"
if dk_plugin_log n1 "$VOL" 400 | grep -q 'Get failed: no such volume'; then
	tl_fail "the lookup miss before create is still logged at info"
fi
tl_ok "dockerd log: plugin info lines at level=info, none at level=error; start-up lines name $version"

# --- upgrade both to the rebuilt copy (README "Upgrade": disable -f, upgrade, enable)
for p in "$VOL nfs-volume" "$IPAM ipam"; do
	read -r name repo <<<"$p"
	dk n1 plugin disable -f "$name" >/dev/null # -f: volumes and networks refer to it
	dk n1 plugin upgrade --grant-all-permissions --skip-remote-check "$name" \
		"$reg/openmpf/$repo:build2" >/dev/null
	dk n1 plugin enable "$name" >/dev/null
	ref=$(dk n1 plugin inspect -f '{{.PluginReference}}' "$name")
	[ "$ref" = "$reg/openmpf/$repo:build2" ] || tl_fail "$name: reference after upgrade is $ref"
done
tl_ok "both plugins upgraded to build2 and enabled"

# --- everything survived
dk n1 volume ls -q | grep -qx shared || tl_fail "volume 'shared' is gone after the upgrade"
got=$(dk n1 run --rm --init -v shared:/s bb:latest cat /s/data.txt)
[ "$got" = before-upgrade ] || tl_fail "data after the upgrade: '$got'"
grep -rqF '"shared"' "$varlib/openmpf-nfs-volume" ||
	tl_fail "the volume state in /var/lib/openmpf-nfs-volume no longer names 'shared'"
pv=$(dk n1 volume inspect -f '{{.Status.PluginVersion}}' shared)
[ "$pv" = "$version" ] || tl_fail "Status.PluginVersion is '$pv', want $version"
tl_ok "volume definition, state and data kept; Status.PluginVersion $pv"

[ "$(dk n1 network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' net1)" = "$sub1" ] ||
	tl_fail "net1's subnet changed"
dk n1 network create -d bridge --ipam-driver "$IPAM" net2 >/dev/null
sub2=$(dk n1 network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' net2)
if [ -z "$sub2" ] || [ "$sub2" = "$sub1" ]; then
	tl_fail "net2 got '$sub2' (net1 holds $sub1): pool state lost"
fi
ip=$(dk n1 run --rm --init --network net1 bb:latest sh -c 'ip -4 -o addr show eth0' | awk '{print $4}')
case $ip in "${sub1%.*/*}".*) ;; *) tl_fail "a container on net1 got '$ip', not in $sub1" ;; esac
tl_ok "pool $sub1 still held after the upgrade (net2 got $sub2; a container on net1 got $ip)"

check_levels
tl_ok "dockerd log after the upgrade: still no plugin line at level=error"
echo "upgrade e2e: all checks passed"
