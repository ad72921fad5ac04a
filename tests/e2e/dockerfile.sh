#!/bin/bash
# SPDX-License-Identifier: MIT
# dockerfile.sh - the Dockerfile is built, and what it builds works (issue 8):
#   * base image: mmdebstrap --variant=minbase bookworm, docker import as debian:bookworm
#     (the tarball is cached in $OPENMPF_CI_CACHE, default /var/cache/openmpf-ci, and made
#     again when older than 7 days);
#   * a build dockerd with --bridge=none --iptables=false --ip-forward=false in the
#     machine's network namespace (it adds no address, route or rule there; the build's
#     apt-get needs the machine's network), its data root also in the cache directory so
#     BuildKit's layer cache carries over between runs;
#     DOCKER_BUILDKIT=1 docker build --network host --target plugins --output type=local;
#   * smoke test of the result in another dockerd (in a test network namespace, private
#     /var/lib, nfs-ganesha in a server namespace): docker plugin create + enable both with
#     the default state source, one IPAM network, one volume mounted by a container on
#     that network, the data on the export; VERSION and --version agree with the build.
# Needs root, docker.io, busybox-static, nfs-ganesha, mmdebstrap and network access to a
# Debian mirror (skipped, saying so, without one).
set -euo pipefail
# shellcheck source=tests/lib/multinode.sh
. "$(dirname "$0")/../lib/multinode.sh"
require_dockerd
require_ganesha
require_cmd mmdebstrap:mmdebstrap
tl_project_dirs
src=$PROJECT_SOURCE_DIR
VOL=openmpf/nfs-volume:latest IPAM=openmpf/ipam:latest
cache=${OPENMPF_CI_CACHE:-/var/cache/openmpf-ci}
base=$cache/debian-bookworm-minbase.tar
mkdir -p "$cache"

DK_BASE=$(tl_tmpdir e2e-dockerfile)
if [ "${TL_KEEP:-0}" != 1 ]; then tl_defer "rm -rf '$DK_BASE'"; fi
export DK_BASE

if [ -s "$base" ] && [ -z "$(find "$base" -mtime +7)" ]; then
	tl_log "base tarball from the cache: $base"
else
	tl_log "mmdebstrap --variant=minbase bookworm $base"
	tmpbase=$cache/.new-base.$$.tar # mmdebstrap picks the format from the ".tar" suffix
	if ! mmdebstrap --variant=minbase bookworm "$tmpbase" >"$DK_BASE/mmdebstrap.log" 2>&1; then
		rm -rf "$tmpbase"
		if grep -qi 'could not resolve\|failed to fetch\|network is unreachable\|temporary failure' "$DK_BASE/mmdebstrap.log"; then
			tl_skip "no Debian mirror reachable for mmdebstrap: $(tail -1 "$DK_BASE/mmdebstrap.log")"
		fi
		tail -20 "$DK_BASE/mmdebstrap.log" >&2
		tl_fail "mmdebstrap failed"
	fi
	mv "$tmpbase" "$base"
fi

# The build daemon: the machine's netns, nothing added to it; data root kept in the cache.
bd=$cache/build-dockerd
tl_defer "dk_stop '$bd' >/dev/null"
tl_on_fail "dk_log_tail '$bd' 30"
dk_start "$bd" "" --bridge=none --iptables=false --ip-forward=false --ip-masq=false
dk "$bd" import "$base" debian:bookworm >/dev/null
tl_ok "base image debian:bookworm imported from the mmdebstrap tarball"

t0=$(tl_now_ms)
if ! (cd "$src" && DOCKER_BUILDKIT=1 dk "$bd" build --network host --target plugins \
	--output "type=local,dest=$DK_BASE/out" . >"$DK_BASE/build.log" 2>&1); then
	tail -40 "$DK_BASE/build.log" >&2
	tl_fail "docker build of the Dockerfile failed"
fi
for p in ipam nfs-volume; do
	if [ ! -f "$DK_BASE/out/$p/config.json" ] || [ ! -d "$DK_BASE/out/$p/rootfs" ]; then
		tl_fail "the build produced no plugin directory $p"
	fi
done
version=$(cat "$DK_BASE/out/VERSION")
want=$(sed -n 's/^project(.* VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ "$version" = "$want" ] || tl_fail "out/VERSION is '$version', CMakeLists.txt says '$want'"
tl_ok "Dockerfile built both plugin directories in $(($(tl_now_ms) - t0)) ms, version $version"
dk_stop "$bd" >/dev/null

# Smoke test in a daemon of its own.
mn_net_up 1
srv=$(mn_srv_addr)
NFS_PORT=2049 NFS_MNTPORT=20048 NFS_BIND=0.0.0.0 ganesha_up "$DK_BASE/nfs" "$DK_BASE/nfs/export" "$(mn_ns srv)"
DK_PRIVATE_VARLIB=1 mn_daemons_up 1
tl_on_fail "dk_plugin_log n1 $VOL 20 >&2; dk_plugin_log n1 $IPAM 20 >&2"
dk_plugin_install n1 "$VOL" "$DK_BASE/out/nfs-volume" NFS_SERVER="$srv" NFS_EXPORT=/export \
	DEFAULT_UID=376 DEFAULT_GID=376
dk_plugin_install n1 "$IPAM" "$DK_BASE/out/ipam"
tl_ok "both plugins created and enabled from the Dockerfile's output"
dk_busybox_image n1 bb:latest
dk n1 network create -d bridge --ipam-driver "$IPAM" smoke >/dev/null
sub=$(dk n1 network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' smoke)
[ -n "$sub" ] || tl_fail "the IPAM network has no subnet"
dk n1 volume create -d "$VOL" smokevol >/dev/null
ip=$(dk n1 run --rm --init --network smoke -v smokevol:/data bb:latest \
	sh -c 'echo from-the-dockerfile-build > /data/hello && ip -4 -o addr show eth0' | awk '{print $4}')
[ "$(cat "$DK_BASE/nfs/export/smokevol/hello" 2>/dev/null)" = from-the-dockerfile-build ] ||
	tl_fail "the container's file is not on the export"
tl_ok "network smoke got $sub (container $ip); volume smokevol mounted, its file on the export"
pv=$(dk n1 volume inspect -f '{{.Status.PluginVersion}}' smokevol)
[ "$pv" = "$version" ] || tl_fail "Status.PluginVersion '$pv' != $version"
tl_ok "Status.PluginVersion $pv"
echo "dockerfile e2e: all checks passed"
