#!/bin/bash
# SPDX-License-Identifier: MIT
# e2e_volume.sh - the NFS volume plugin with real Docker 20.10 daemons (issue 3):
#   * nfs-ganesha (NFSv3, root_squash, standard ports found through rpcbind) in a server
#     namespace; two dockerds (n1, n2), each in its own network namespace;
#   * the plugin built into a managed-plugin dir (scripts/make-plugin-dir.sh), then
#     docker plugin create / set (NFS_SERVER, NFS_EXPORT, state source ...) / enable;
#   * docker volume create -d openmpf/nfs-volume:latest; a container running as uid 1000
#     writes, another container reads; a uid=376 volume gets root's writes as 376;
#   * n2, which never ran Create, lists and inspects the volume and reads the data;
#   * a swarm stack whose compose file only names the driver writes on n1, reads on n2;
#   * docker volume rm keeps the data, unless the volume says on_remove=delete;
#   * hostile catalogue entries written by hand are ignored by both nodes, one warning
#     each, nothing deleted; subdir=/ is refused; the catalogue belongs to CATALOGUE_UID.
# Needs root, docker.io, busybox-static, nfs-ganesha(-vfs), rpcbind and a build of
# volume-plugin (PROJECT_BUILD_DIR); exits 77 saying why otherwise.
set -euo pipefail
# shellcheck source=tests/lib/multinode.sh
. "$(dirname "$0")/../../lib/multinode.sh"
mn_require

src=$PROJECT_SOURCE_DIR build=$PROJECT_BUILD_DIR
bin=$build/volume-plugin/volume-plugin cfg=$src/volume-plugin/config.json
[ -x "$bin" ] || tl_skip "plugin binary $bin not built (cmake --build $build)"
VOL=openmpf/nfs-volume:latest
T0=$(tl_now_ms)
step() { tl_log "[$(($(tl_now_ms) - T0)) ms] $*"; }

DK_BASE=$(tl_tmpdir e2e-volume)
# tl_tmpdir ran in a subshell, so its own clean-up was registered there: register it here
# (first registered, so it runs last, after the daemons and the server stopped).
if [ "${TL_KEEP:-0}" != 1 ]; then tl_defer "rm -rf '$DK_BASE'"; fi
export DK_BASE
export_dir=$DK_BASE/nfs/export

step "plugin directory"
"$src/scripts/make-plugin-dir.sh" "$DK_BASE/plugins/nfs-volume" "$cfg" "$bin" >/dev/null

step "network: 2 nodes + server namespace; NFS server; dockerd on n1 and n2"
mn_net_up 2
srv=$(mn_srv_addr)
NFS_PORT=2049 NFS_MNTPORT=20048 NFS_BIND=0.0.0.0 ganesha_up "$DK_BASE/nfs" "$export_dir" "$(mn_ns srv)"
mn_daemons_up 2

dump_state() {
	local n
	for n in n1 n2; do
		echo "--- $n: $VOL log" >&2
		dk_plugin_log "$n" "$VOL" 40 >&2 2>/dev/null || true
	done
	echo "--- export" >&2
	ls -laR "$export_dir" >&2 || true
}
tl_on_fail dump_state

step "docker plugin create / set / enable on both nodes"
for n in n1 n2; do
	mkdir -p "$DK_BASE/$n-vol-state"
	dk_plugin_install "$n" "$VOL" "$DK_BASE/plugins/nfs-volume" \
		NFS_SERVER="$srv" NFS_EXPORT=/export NFS_TIMEOUT=5 REFRESH_INTERVAL=2 \
		LOG_LEVEL=debug state.source="$DK_BASE/$n-vol-state"
	dk_busybox_image "$n" bb:latest
done
tl_ok "plugin enabled on n1 and n2 with NFS_SERVER=$srv NFS_EXPORT=/export"

step "docker volume create on n1; uid 1000 writes, another container reads"
dk n1 volume create -d "$VOL" data1 >/dev/null
[ -d "$export_dir/data1" ] || tl_fail "no directory data1 on the export"
[ -f "$export_dir/.openmpf-volumes/data1.json" ] || tl_fail "no catalogue entry for data1"
dk n1 run --rm --init -u 1000:1000 -v data1:/data bb:latest sh -c 'echo written-by-1000 > /data/f.txt'
got=$(dk n1 run --rm --init -v data1:/data bb:latest cat /data/f.txt)
[ "$got" = written-by-1000 ] || tl_fail "second container read '$got'"
[ "$(stat -c %u "$export_dir/data1/f.txt")" = 1000 ] || tl_fail "f.txt not owned by 1000 on the export"
tl_ok "container as uid 1000 wrote data1/f.txt (owned 1000 on the export), another container read it"
# The manifest binds /sys/devices/virtual/bdi so FUSE readahead can be raised (fuse_fs.c).
if dk_plugin_log n1 "$VOL" 400 | grep -q 'cannot raise readahead'; then
	tl_fail "the plugin could not raise the FUSE readahead (bdi mount in config.json?)"
fi
tl_ok "FUSE readahead raised inside the managed plugin"

dk n1 volume create -d "$VOL" -o uid=376 -o gid=376 -o mode=0750 mpf >/dev/null
dk n1 run --rm --init -v mpf:/share bb:latest sh -c 'echo as-root > /share/r.txt'
[ "$(stat -c %u:%g "$export_dir/mpf/r.txt")" = 376:376 ] || tl_fail "root's write in a uid=376 volume is $(stat -c %u:%g "$export_dir/mpf/r.txt")"
[ "$(stat -c %u:%g:%a "$export_dir/mpf")" = 376:376:750 ] || tl_fail "mpf dir is $(stat -c %u:%g:%a "$export_dir/mpf")"
tl_ok "-o uid=376 -o gid=376 -o mode=0750: directory 376:376 0750, root's writes land as 376 (root_squash server)"

# Docker copies image content into an empty volume as root (create, lchown, chmod) and
# chowns the volume root to the image directory's owner: with a fixed uid this works
# under root_squash.
dk n1 run --name seedc --init bb:latest sh -c 'mkdir -p /opt/mpf/share/sub && echo seed > /opt/mpf/share/sub/hello && chown -R 376:376 /opt/mpf/share'
dk n1 commit seedc seeded:latest >/dev/null
dk n1 rm seedc >/dev/null
dk n1 volume create -d "$VOL" -o uid=376 -o gid=376 seeded376 >/dev/null
got=$(dk n1 run --rm --init -u 376:376 -v seeded376:/opt/mpf/share seeded:latest sh -c 'cat /opt/mpf/share/sub/hello && touch /opt/mpf/share/sub/new')
[ "$got" = seed ] || tl_fail "copy-up into a uid=376 volume: read '$got'"
[ "$(stat -c %u:%g "$export_dir/seeded376/sub/hello")" = 376:376 ] || tl_fail "copied file not 376:376 on the export"
tl_ok "Docker's copy of image data into a fresh uid=376 volume works under root_squash (files 376:376)"

if dk n1 volume create -d "$VOL" -o uid=1 data1 >/dev/null 2>"$DK_BASE/err"; then
	# Docker skips Create when Get succeeds (docs/plugin-protocol.md 3.2): the options are ignored
	# by Docker itself, the plugin never sees them.
	tl_log "note: docker volume create of an existing name never reaches the plugin"
fi
if out=$(dk n1 volume create -d "$VOL" -o colour=blue bad 2>&1); then
	tl_fail "unknown option accepted"
fi
case $out in *"accepted options"*) ;; *) tl_fail "refusal does not list accepted options: $out" ;; esac
tl_ok "unknown option refused: $(echo "$out" | tail -1)"

step "n2 never ran Create: it lists, inspects and reads"
listed() { dk n2 volume ls -q | grep -qx data1; }
wait_until 20 listed || tl_fail "n2 does not list data1"
dk n2 volume inspect -f '{{.Driver}} {{.Scope}} {{json .Status}}' data1 | tee "$DK_BASE/inspect"
grep -q "^$VOL global " "$DK_BASE/inspect" || tl_fail "inspect on n2: wrong driver/scope"
grep -q '"Server":"'"$srv"'"' "$DK_BASE/inspect" || tl_fail "inspect on n2: no Server in Status"
grep -q '"Reachable":true' "$DK_BASE/inspect" || tl_log "note: Reachable not yet true in the first inspect"
got=$(dk n2 run --rm --init -v data1:/data bb:latest cat /data/f.txt)
[ "$got" = written-by-1000 ] || tl_fail "n2 read '$got'"
[ "$(dk n2 volume inspect -f '{{.Driver}}' data1)" = "$VOL" ] || tl_fail "n2 made data1 a local volume"
tl_ok "n2 lists and inspects data1 (scope global, Status with server) and reads n1's data with a plain -v data1:/data"

step "swarm stack whose compose file only names the driver"
mn_swarm_up
token=$RANDOM$RANDOM
cat >"$DK_BASE/stack.yml" <<EOF
version: "3.8"
services:
  writer:
    image: bb:latest
    command: ["sh", "-c", "echo stack-$token > /data/stack.txt && exec sleep 3600"]
    volumes: ["shared:/data"]
    deploy:
      endpoint_mode: dnsrr
      placement: {constraints: ["node.hostname == n1"]}
  reader:
    image: bb:latest
    command: ["sh", "-c", "until cat /data/stack.txt; do sleep 0.5; done; exec sleep 3600"]
    volumes: ["shared:/data"]
    deploy:
      endpoint_mode: dnsrr
      placement: {constraints: ["node.hostname == n2"]}
volumes:
  shared:
    driver: $VOL
EOF
dk n1 stack deploy --resolve-image never -c "$DK_BASE/stack.yml" stk >/dev/null
reader_read() {
	local c
	c=$(dk n2 ps -q -f label=com.docker.swarm.service.name=stk_reader -f status=running | head -1)
	[ -n "$c" ] && [ "$(dk n2 exec "$c" cat /data/stack.txt 2>/dev/null)" = "stack-$token" ]
}
wait_until 90 reader_read || {
	dk n1 stack ps --no-trunc stk >&2 || true
	tl_fail "the reader task on n2 never read the writer's file"
}
[ -f "$export_dir/stk_shared/stack.txt" ] || tl_fail "stack data not in stk_shared on the export"
tl_ok "stack with only 'driver: $VOL': writer on n1, reader on n2 share stk_shared"
dk n1 stack rm stk >/dev/null
stack_gone() { [ -z "$(dk n1 ps -q -f label=com.docker.stack.namespace=stk)" ] && [ -z "$(dk n2 ps -q -f label=com.docker.stack.namespace=stk)" ]; }
wait_until 60 stack_gone || tl_fail "stack tasks still running 60 s after stack rm"
[ -f "$export_dir/stk_shared/stack.txt" ] || tl_fail "stack rm lost the data"
tl_ok "stack rm keeps the volume data"

step "plugin crash: Docker restarts it; the state brings the volumes and mounts back"
# plugin_pid NODE : the PID of NODE's volume plugin (the one whose state mount is NODE's)
plugin_pid() {
	local p
	for p in $(pgrep -f '^/usr/bin/volume-plugin' || true); do
		if grep -qF "$DK_BASE/$1-vol-state" "/proc/$p/mountinfo" 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}
dk n1 run -d --name holder --init -v data1:/data bb:latest sleep 3600 >/dev/null
old=$(plugin_pid n1) || tl_fail "cannot find n1's plugin process"
kill -KILL "$old"
restarted() { local p; p=$(plugin_pid n1) && [ "$p" != "$old" ] && dk n1 volume ls -q | grep -qx data1; }
wait_until 30 restarted || tl_fail "Docker did not restart the crashed plugin within 30 s"
got=$(dk n1 run --rm --init -v data1:/data bb:latest cat /data/f.txt)
[ "$got" = written-by-1000 ] || tl_fail "after the crash a new container read '$got'"
if dk n1 exec holder ls /data >/dev/null 2>&1; then
	tl_log "note: the running container still reads its volume after the crash"
else
	tl_log "note: the running container lost its volume in the crash (FUSE): restart it"
fi
dk n1 rm -f holder >/dev/null
tl_ok "plugin killed: Docker restarted it, data1 still listed, a new container reads it"

step "docker volume rm: keep by default, delete on request"
dk n1 volume rm data1 >/dev/null
[ -f "$export_dir/data1/f.txt" ] || tl_fail "volume rm deleted data1's data"
[ ! -e "$export_dir/.openmpf-volumes/data1.json" ] || tl_fail "data1 still in the catalogue"
dk n1 volume create -d "$VOL" -o on_remove=delete scratch >/dev/null
dk n1 run --rm --init -v scratch:/s bb:latest sh -c 'mkdir /s/d && echo x > /s/d/f'
[ -f "$export_dir/scratch/d/f" ] || tl_fail "scratch data not on the export"
dk n1 volume rm scratch >/dev/null
[ ! -e "$export_dir/scratch" ] || tl_fail "on_remove=delete kept the data"
gone_on_n2() { ! dk n2 volume ls -q | grep -qx data1; }
wait_until 20 gone_on_n2 || tl_fail "n2 still lists data1 after its removal on n1"
tl_ok "volume rm keeps data (definition gone on every node); on_remove=delete deletes the subdir"
step "hostile input: hand-written catalogue entries, subdir=/, a root container"
# The catalogue belongs to CATALOGUE_UID: the squashed identity of root containers
# (anonymous uid 65534) cannot write it.
[ "$(stat -c '%u %a' "$export_dir/.openmpf-volumes")" = "2147483646 755" ] ||
	tl_fail "catalogue directory is $(stat -c '%u %a' "$export_dir/.openmpf-volumes")"
if out=$(dk n1 volume create -d "$VOL" -o subdir=/ everything 2>&1); then
	tl_fail "subdir=/ on the home export was accepted"
fi
case $out in *"catalogue directory"*) ;; *) tl_fail "subdir=/ refused without naming the catalogue: $out" ;; esac
dk n1 volume create -d "$VOL" -o on_remove=delete victim >/dev/null
dk n1 run --rm --init -v victim:/v bb:latest sh -c 'echo keep > /v/k' # root: squashed
echo precious >"$export_dir/precious.txt"
printf '%s\n' "{\"Format\":1,\"Name\":\"evil\",\"Server\":\"$srv\",\"Export\":\"/\"," \
	'"Subdir":"export","Mode":"0777","Readonly":false,"OnRemove":"delete"}' \
	>"$export_dir/.openmpf-volumes/evil.json"
printf '%s\n' "{\"Format\":1,\"Name\":\"rooted\",\"Server\":\"$srv\",\"Export\":\"/export\"," \
	'"Subdir":"victim","Mode":"0777","Readonly":false,"OnRemove":"delete","Uid":0,"Gid":0}' \
	>"$export_dir/.openmpf-volumes/rooted.json"
warned() { dk_plugin_log "$1" "$VOL" 100000 | grep -q "still cannot use .openmpf-volumes/$2.json"; }
for n in n1 n2; do
	wait_until 20 warned "$n" evil || tl_fail "$n never reported evil.json twice"
	wait_until 20 warned "$n" rooted || tl_fail "$n never reported rooted.json twice"
	for f in evil rooted; do
		c=$(dk_plugin_log "$n" "$VOL" 100000 | grep -c "warn: catalogue: cannot use .openmpf-volumes/$f.json") || true
		[ "$c" = 1 ] || tl_fail "$n: $c warnings for $f.json, want exactly one"
	done
	if dk "$n" volume ls -q | grep -qxE 'evil|rooted'; then
		tl_fail "$n lists a hostile definition"
	fi
done
dk n1 volume rm evil >/dev/null 2>&1 || true
dk n2 volume rm rooted >/dev/null 2>&1 || true
[ -f "$export_dir/precious.txt" ] && [ -f "$export_dir/victim/k" ] &&
	[ -d "$export_dir/.openmpf-volumes" ] || tl_fail "a hostile definition deleted data"
dk n1 volume rm victim >/dev/null
[ ! -e "$export_dir/victim" ] || tl_fail "victim's own on_remove=delete did not delete it"
rm -f "$export_dir/precious.txt" "$export_dir/.openmpf-volumes/evil.json" \
	"$export_dir/.openmpf-volumes/rooted.json"
tl_ok "hostile catalogue entries (export above the home one with on_remove=delete, root identity) ignored on both nodes with one warning each; nothing deleted; subdir=/ refused; catalogue owned by CATALOGUE_UID"
echo "volume e2e: all checks passed in $(($(tl_now_ms) - T0)) ms"
