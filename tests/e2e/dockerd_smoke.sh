#!/bin/bash
# SPDX-License-Identifier: MIT
# dockerd_smoke.sh - the private-dockerd library (scripts/lib/dockerd.sh) works: start a
# dockerd in its own netns + mount ns, import a busybox image, run containers (also as
# uid 376 and on a user bridge network), stop, and leave nothing behind.
set -euo pipefail
# shellcheck source=scripts/lib/dockerd.sh
. "$(dirname "$0")/../../scripts/lib/dockerd.sh"
require_dockerd

DK_BASE=$(tl_tmpdir dk-smoke)
export DK_BASE
ns=$(ns_name dk1)
dk_up d1 "$ns"
mntns=$(cat "$DK_BASE/d1/mntns")

dk_busybox_image d1 bb:latest
tl_ok "busybox image imported"
# shellcheck disable=SC2016  # expanded in the container
out=$(dk d1 run --rm --init bb:latest sh -c 'echo hello from $(hostname)')
case $out in "hello from "*) ;; *) tl_fail "container output: '$out'" ;; esac
tl_ok "container ran: $out"
[ "$(dk d1 run --rm --init -u 376:376 bb:latest id -u)" = 376 ] || tl_fail "run as uid 376"
tl_ok "container as uid 376"
dk d1 network create --driver bridge smoke-net >/dev/null
sub=$(dk d1 network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' smoke-net)
[ -n "$sub" ] || tl_fail "bridge network has no subnet"
ip=$(dk d1 run --rm --init --network smoke-net bb:latest sh -c 'ip -4 -o addr show eth0' | awk '{print $4}')
[ -n "$ip" ] || tl_fail "container on smoke-net got no address"
tl_ok "bridge network $sub, container address $ip"
# the daemon's interfaces live in its netns only
ip -n "$ns" link show docker0 >/dev/null || tl_fail "docker0 not in the daemon's netns"
tl_ok "docker0 is inside netns $ns"

dk_stop "$DK_BASE/d1" "$ns" >/dev/null
! ns_exists "$ns" || tl_fail "netns $ns still exists after dk_stop"
for p in /proc/[0-9]*; do
	if [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$mntns" ]; then
		tl_fail "process ${p#/proc/} of the daemon's mount ns survived dk_stop"
	fi
done
cg=$(_dk_cgroup "$DK_BASE/d1")
[ ! -d "/sys/fs/cgroup/pids/$cg" ] || tl_fail "cgroup $cg left behind"
tl_ok "dk_stop left no process, netns or cgroup"
echo "dockerd smoke: all checks passed"
