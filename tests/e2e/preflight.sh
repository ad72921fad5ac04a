#!/bin/bash
# SPDX-License-Identifier: MIT
# preflight.sh - scripts/preflight.sh as an operator runs it on a node (issue 8): a real
# dockerd with both plugins installed, nfs-ganesha (root_squash) in a server namespace;
# the script runs in the daemon's own mount and network namespace (where the plugins'
# sockets are, /run/docker/plugins/<id>/<socket>) with nothing but the docker CLI:
#   * a good node: exit 0;
#   * a root-squashed export and no DEFAULT_UID: exit 1 naming root_squash and the fix;
#   * a --subnet that collides with a host interface of the node: exit 1 naming the
#     subnet and the culprit (needs the IPAM plugin's POST /Preflight.Ipam; while the
#     plugin lacks it, the IPAM checks are reported as not run and the test is skipped
#     after the volume checks passed);
#   * the NFS server stopped: exit 1 naming the server.
set -euo pipefail
# shellcheck source=tests/lib/multinode.sh
. "$(dirname "$0")/../lib/multinode.sh"
mn_require binaries

src=$PROJECT_SOURCE_DIR build=$PROJECT_BUILD_DIR
VOL=openmpf/nfs-volume:latest IPAM=openmpf/ipam:latest

DK_BASE=$(tl_tmpdir e2e-preflight)
if [ "${TL_KEEP:-0}" != 1 ]; then tl_defer "rm -rf '$DK_BASE'"; fi
export DK_BASE
"$src/scripts/make-plugin-dir.sh" "$DK_BASE/plugins/ipam" "$src/ipam-plugin/config.json" \
	"$build/ipam-plugin/ipam-plugin" >/dev/null
"$src/scripts/make-plugin-dir.sh" "$DK_BASE/plugins/nfs-volume" "$src/volume-plugin/config.json" \
	"$build/volume-plugin/volume-plugin" >/dev/null

mn_net_up 1
srv=$(mn_srv_addr)
NFS_SQUASH=root_squash NFS_PORT=2049 NFS_MNTPORT=20048 NFS_BIND=0.0.0.0 \
	ganesha_up "$DK_BASE/nfs" "$DK_BASE/nfs/export" "$(mn_ns srv)"
DK_PRIVATE_VARLIB=1 mn_daemons_up 1
dk_plugin_install n1 "$VOL" "$DK_BASE/plugins/nfs-volume" NFS_SERVER="$srv" NFS_EXPORT=/export \
	DEFAULT_UID=376 DEFAULT_GID=376 >/dev/null
# POOLS outside Docker's default address pool (10.0.0.0/8), so that is no finding here
dk_plugin_install n1 "$IPAM" "$DK_BASE/plugins/ipam" POOLS=172.30.0.0/16:24 >/dev/null
# a host network of this node that a requested subnet can collide with
ip -n "$(mn_ns n1)" link add pf0 type veth peer name pf1
ip -n "$(mn_ns n1)" addr add 10.99.0.1/24 dev pf0
ip -n "$(mn_ns n1)" link set pf0 up
ip -n "$(mn_ns n1)" link set pf1 up

# preflight ARGS... : scripts/preflight.sh inside n1's mount + network namespace; output
# in $out, exit status in $rc
preflight() {
	rc=0
	out=$(nsenter -t "$(cat "$DK_BASE/n1/dockerd.pid")" -m -n -- \
		env DOCKER=/usr/bin/docker DOCKER_HOST="unix://$DK_BASE/n1/docker.sock" \
		"$src/scripts/preflight.sh" "$@" 2>&1) || rc=$?
	printf '%s\n' "$out" | sed 's/^/    | /' >&2
}

ipam_missing=0
preflight --no-ipam
[ "$rc" = 0 ] || tl_fail "volume preflight on a good node: exit $rc"
grep -q 'round trip' <<<"$out" || tl_fail "no round-trip time in the report"
grep -q 'root is squashed' <<<"$out" || tl_fail "the report does not say root is squashed"
grep -q 'writable as DEFAULT_UID=376' <<<"$out" || tl_fail "the report does not say the export is writable as 376"
tl_ok "volume side of a good node: exit 0, round trip, root_squash seen, writable as 376"

preflight
if grep -q 'has no preflight endpoint' <<<"$out"; then
	ipam_missing=1
	tl_log "the IPAM plugin has no POST /Preflight.Ipam yet: IPAM checks not run"
else
	[ "$rc" = 0 ] || tl_fail "preflight on a good node: exit $rc"
	tl_ok "good node (both plugins): exit 0"

	preflight --subnet 10.99.0.0/24
	[ "$rc" = 1 ] || tl_fail "a colliding --subnet: exit $rc, want 1"
	grep -q '10.99.0.0/24' <<<"$out" || tl_fail "the report does not name the subnet"
	grep -q 'pf0\|10.99.0.1' <<<"$out" || tl_fail "the report does not name the culprit (pf0 10.99.0.1/24)"
	tl_ok "--subnet 10.99.0.0/24 colliding with pf0: exit 1, subnet and culprit named"
fi

dk n1 plugin disable -f "$VOL" >/dev/null
dk n1 plugin set "$VOL" DEFAULT_UID= DEFAULT_GID=
dk n1 plugin enable "$VOL" >/dev/null
preflight --no-ipam
[ "$rc" = 1 ] || tl_fail "root_squash without DEFAULT_UID: exit $rc, want 1"
grep -q '^PROBLEM: root is squashed and DEFAULT_UID/DEFAULT_GID are not set' <<<"$out" ||
	tl_fail "the report does not name root_squash without DEFAULT_UID"
grep -q 'docker plugin set .*DEFAULT_UID=' <<<"$out" || tl_fail "the report gives no fix"
tl_ok "root_squash and no DEFAULT_UID: exit 1, cause and fix named"

ganesha_stop "$DK_BASE/nfs" >/dev/null
preflight --no-ipam
[ "$rc" = 1 ] || tl_fail "NFS server stopped: exit $rc, want 1"
grep -q "^PROBLEM: NFS server $srv export /export does not answer" <<<"$out" ||
	tl_fail "the report does not say the server does not answer"
tl_ok "NFS server stopped: exit 1, the server named"

dk n1 plugin disable -f "$VOL" >/dev/null
preflight --no-ipam
[ "$rc" = 1 ] || tl_fail "a disabled plugin: exit $rc, want 1"
grep -q "plugin $VOL is installed but disabled" <<<"$out" || tl_fail "the disabled plugin is not named"
tl_ok "a disabled plugin: exit 1, named with the fix"

if [ "$ipam_missing" = 1 ]; then
	tl_skip "volume checks passed; IPAM checks (good node, colliding --subnet) not run: the IPAM plugin has no POST /Preflight.Ipam yet"
fi
echo "preflight e2e: all checks passed"
