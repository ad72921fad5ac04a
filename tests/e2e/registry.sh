#!/bin/bash
# SPDX-License-Identifier: MIT
# registry.sh - the local-registry path of issue 4 works on this machine: Debian's
# docker-registry inside a server netns, one dockerd pushes a managed plugin built by
# scripts/make-plugin-dir.sh, another dockerd installs it with
# `docker plugin install --grant-all-permissions --alias` plus a setting; an unreachable
# registry makes the install fail fast with a clear error.
# The plugin here is a stand-in (busybox sleep, never enabled) so this test does not
# depend on the real plugins; swarm3_stack.sh installs the real ones the same way.
set -euo pipefail
# shellcheck source=tests/lib/multinode.sh
. "$(dirname "$0")/../lib/multinode.sh"
require_dockerd
require_registry
tl_project_dirs

DK_BASE=$(tl_tmpdir e2e-registry)
export DK_BASE
mn_net_up 2
reg="$(mn_srv_addr):5000"
registry_up "$DK_BASE/registry" "$(mn_ns srv)" "$(mn_srv_addr)" 5000
mn_daemons_up 2 --insecure-registry "$reg"

# a stand-in plugin: static busybox as the entrypoint, one settable env
cat >"$DK_BASE/standin.json" <<'JSON'
{
  "description": "registry test stand-in",
  "entrypoint": ["/bin/standin", "sleep", "3600"],
  "interface": {"types": ["docker.volumedriver/1.0"], "socket": "standin.sock"},
  "env": [{"name": "LOG_LEVEL", "value": "info", "settable": ["value"]}]
}
JSON
"$PROJECT_SOURCE_DIR/scripts/make-plugin-dir.sh" "$DK_BASE/standin" "$DK_BASE/standin.json" /bin/busybox >/dev/null

registry_push_plugin n1 "$DK_BASE/standin" "$reg/openmpf/standin:latest"
registry_catalog "$(mn_ns srv)" "$(mn_srv_addr)" 5000 | grep -q '"openmpf/standin"' ||
	tl_fail "registry catalog lacks openmpf/standin: $(registry_catalog "$(mn_ns srv)" "$(mn_srv_addr)" 5000)"
tl_ok "plugin pushed to $reg"

for n in n1 n2; do
	registry_install_plugin "$n" "$reg/openmpf/standin:latest" openmpf/standin:latest \
		--disable LOG_LEVEL=debug 2>&1 | tail -1
	env=$(dk "$n" plugin inspect -f '{{.Settings.Env}}' openmpf/standin:latest)
	case $env in *LOG_LEVEL=debug*) ;; *) tl_fail "$n: setting not applied: $env" ;; esac
	ref=$(dk "$n" plugin inspect -f '{{.PluginReference}}' openmpf/standin:latest)
	case $ref in "$reg/openmpf/standin:latest") ;; *) tl_fail "$n: plugin reference '$ref'" ;; esac
done
tl_ok "installed on both nodes as openmpf/standin:latest with LOG_LEVEL=debug"

# registry unreachable: connections refused -> install fails at once, naming the registry
dk n2 plugin rm openmpf/standin:latest >/dev/null
ns_exec "$(mn_ns srv)" nft -f - <<NFT
table inet regtest_outage {
	chain input { type filter hook input priority -10; policy accept; tcp dport 5000 reject with tcp reset; }
}
NFT
t0=$(tl_now_ms)
if out=$(timeout 60 "$DOCKER" -H "unix://$DK_BASE/n2/docker.sock" plugin install --grant-all-permissions \
	--disable --alias openmpf/standin:latest "$reg/openmpf/standin:latest" 2>&1); then
	tl_fail "install worked with the registry unreachable"
fi
took=$(($(tl_now_ms) - t0))
case $out in *"$(mn_srv_addr)"*) ;; *) tl_fail "install error does not name the registry: $out" ;; esac
[ "$took" -lt 30000 ] || tl_fail "install took $took ms to fail"
tl_ok "registry unreachable: install fails in $took ms: $(echo "$out" | tail -1)"
ns_exec "$(mn_ns srv)" nft delete table inet regtest_outage
registry_install_plugin n2 "$reg/openmpf/standin:latest" openmpf/standin:latest --disable >/dev/null
tl_ok "install works again once the registry is back"
echo "registry e2e: all checks passed"
