# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# dockerd.sh - private Docker 20.10 daemons for tests, each in its own network, mount
# and UTS namespace with its own data and exec roots.  Source it (bash only):
#
#     . "$PROJECT_SOURCE_DIR/scripts/lib/dockerd.sh"    # also sources common.sh, netns.sh
#     require_dockerd
#     export DK_BASE=$(tl_tmpdir dk)                  # daemons live in $DK_BASE/<name>
#     dk_up n1                                        # netns $(ns_name n1); stopped at exit
#     dk_busybox_image n1 bb:latest
#     dk n1 run --rm --init bb:latest echo hi
#     dk_plugin_install n1 openmpf/ipam:latest "$plugindir" LOG_LEVEL=debug
#     dk_plugin_log n1 openmpf/ipam:latest 20         # the plugin's stderr lines
#
# Functions:
#   dk NODE ARGS...                 docker CLI (/usr/bin/docker, 20.10) against NODE
#   dk_start DIR [NETNS] [FLAGS]    start dockerd (NETNS created if missing), wait for API
#   dk_stop DIR [NETNS]             SIGTERM, then SIGKILL leftovers by PID, cgroups, netns
#   dk_up NAME [NETNS] [FLAGS]      dk_start $DK_BASE/NAME + stop at exit + log dump on fail
#   dk_log_tail NODE [N]            last N (40) lines of NODE's dockerd.log
#   dk_busybox_rootfs OUT           minimal rootfs from busybox-static's /bin/busybox
#   dk_busybox_image NODE [IMAGE]   docker import that rootfs as IMAGE (bb:latest)
#   dk_plugin_install NODE NAME:TAG DIR [KEY=VAL...]   plugin create + set + enable
#   dk_plugin_id NODE NAME:TAG      the plugin's 64-hex ID
#   dk_plugin_log NODE NAME:TAG [N] the last N (40) stderr/stdout lines of the plugin
#                                   (from dockerd.log, where dockerd copies them)
#   dk_host_exec NODE CMD...        run CMD in NODE's "host": its dockerd's mount and
#                                   network namespaces (what containers and plugins see)
#   dk_resolved_stub NODE ADDR...   make NODE a systemd-resolved host: /etc/resolv.conf
#                                   holds only the stub 127.0.0.53, the upstream servers
#                                   ADDR... are in /run/systemd/resolve/resolv.conf
#
# NODE is a name ($DK_BASE/NAME, DK_BASE defaults to /tmp/dk-test) or an absolute dir.
# DK_PRIVATE_VARLIB=1 (env of dk_start/dk_up): the daemon sees DIR/varlib as /var/lib (a
# bind in its private mount ns), so plugins installed with the default state mount
# source (/var/lib) write there instead of the host's /var/lib.
#
# Why each daemon gets its own namespaces (measured: docs/docker.md 1):
#  * dockerd/containerd use paths that --data-root/--exec-root do not move:
#    /run/docker/plugins (managed plugin sockets, legacy plugin discovery),
#    /run/containerd/s/<hash> (shim sockets), /etc/docker/key.json (engine ID):
#    -> a private tmpfs on /run/docker, /run/containerd and /etc/docker per daemon.
#  * In one netns daemons fight over docker0, docker_gwbridge, swarm ports 2377/7946,
#    VXLAN 4789 and iptables chains -> a private netns per daemon; deleting it cleans up.
#  * `ip netns exec` remounts /sys and loses /sys/fs/cgroup (containers then fail), so we
#    enter with nsenter and mount a fresh sysfs, re-binding the cgroup tree on top.
#  * Managed plugins ignore --cgroup-parent (cgroup /<plugin-id>), so dk_stop also kills
#    by those cgroups and by the daemon's mount namespace.
#  * busybox `sleep` as PID 1 ignores SIGTERM (10 s per stop): run containers with --init.

# shellcheck source=scripts/lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/netns.sh"

DOCKER=${DOCKER:-/usr/bin/docker} # Debian's 20.10 client (a newer one may come first in PATH)
DK_START_TIMEOUT=${DK_START_TIMEOUT:-60}

# require_dockerd : skip unless root and Debian's docker.io + busybox-static are installed
require_dockerd() {
	require_netns
	require_cmd dockerd:docker.io containerd:docker.io runc:docker.io "$DOCKER":docker.io \
		busybox:busybox-static
	[ -d /sys/fs/cgroup ] || tl_skip "no /sys/fs/cgroup"
	if ! file_is_static /bin/busybox; then
		tl_skip "/bin/busybox is not statically linked (apt-get install busybox-static)"
	fi
}

# file_is_static FILE : true if FILE is an ELF without a program interpreter
file_is_static() {
	[ -x "$1" ] || return 1
	! LC_ALL=C ldd "$1" 2>/dev/null | grep -q '=>\|ld-linux'
}

# _dk_cgroup DIR : the cgroup parent of the daemon in DIR: dk-<name>-<parent dir name>,
# unique per test run (tl_tmpdir), so concurrent runs on one machine never share one
# (dk_stop kills what is left in it)
_dk_cgroup() {
	local p
	p=$(basename "$(dirname "$1")")
	echo "dk-$(basename "$1")-${p//[^A-Za-z0-9_.-]/_}"
}

# _dk_dir NODE : the daemon directory of NODE
_dk_dir() {
	case $1 in
	/*) echo "$1" ;;
	*) echo "${DK_BASE:-/tmp/dk-test}/$1" ;;
	esac
}

# dk NODE ARGS... : run the docker CLI against NODE's socket
dk() {
	local d
	d=$(_dk_dir "$1")
	shift
	"$DOCKER" -H "unix://$d/docker.sock" "$@"
}

# _dk_api_up DIR : the daemon answers
_dk_api_up() { [ -S "$1/docker.sock" ] && "$DOCKER" -H "unix://$1/docker.sock" version >/dev/null 2>&1; }

# dk_start DIR [NETNS] [extra dockerd flags...]
#   DIR    holds data/, exec/, docker.sock, dockerd.pid, dockerd.log, mntns
#   NETNS  run in this network namespace (created with lo up if missing; "" = the
#          caller's netns, then only ONE daemon may run there)
# Returns when the API answers (deadline DK_START_TIMEOUT s). Every daemon gets
# --cgroup-parent /$(_dk_cgroup DIR) (dk-<basename DIR>-<basename of DIR's parent>).
dk_start() {
	local dir=$1 ns=${2:-}
	shift
	[ $# -gt 0 ] && shift
	local name t0 pid cg
	name=$(basename "$dir")
	cg=$(_dk_cgroup "$dir")
	mkdir -p "$dir"
	echo '{}' >"$dir/daemon.json" # never pick up a host /etc/docker/daemon.json
	rm -f "$dir/dockerd.pid" "$dir/mntns"
	local enter=()
	if [ -n "$ns" ]; then
		if ! ns_exists "$ns"; then
			NS_NO_DEFER=1 ns_add "$ns" || return 1
		fi
		enter=(nsenter "--net=/run/netns/$ns" --)
	fi
	t0=$(tl_now_ms)
	# setsid: own session, so the test shell's signals don't reach it.
	# unshare: private mount + UTS namespace; "slave" = host mounts still propagate in,
	# nothing we mount (overlay, netns files, plugin mounts) leaks out to the host.
	# shellcheck disable=SC2016  # the inner script expands its own $1..$4
	setsid "${enter[@]}" unshare --mount --uts --propagation slave -- /bin/sh -c '
		set -e
		dir=$1 name=$2 ns=$3 cg=$4; shift 4
		hostname "$name"
		for p in /run/docker /run/containerd /etc/docker; do
			mkdir -p "$p"; mount -t tmpfs -o mode=0711 "dk-$name" "$p"
		done
		if [ -n "$ns" ]; then   # a sysfs that shows this netns, cgroups kept
			mkdir -p "$dir/.cg"; mount --rbind /sys/fs/cgroup "$dir/.cg"
			mount -t sysfs sysfs /sys
			mount --rbind "$dir/.cg" /sys/fs/cgroup; umount -l "$dir/.cg"
		fi
		if [ "${DK_PRIVATE_VARLIB:-0}" = 1 ]; then
			mkdir -p "$dir/varlib"; mount --bind "$dir/varlib" /var/lib
		fi
		readlink /proc/self/ns/mnt >"$dir/mntns"
		exec dockerd --config-file "$dir/daemon.json" \
			--data-root "$dir/data" --exec-root "$dir/exec" \
			-H "unix://$dir/docker.sock" --pidfile "$dir/dockerd.pid" \
			--storage-driver overlay2 --cgroup-parent "/$cg" "$@"
	' sh "$dir" "$name" "$ns" "$cg" "$@" >"$dir/dockerd.log" 2>&1 </dev/null &
	local launcher=$!
	echo "$launcher" >"$dir/launcher.pid"
	if ! wait_until -q -p "$launcher" "$DK_START_TIMEOUT" _dk_api_up "$dir"; then
		echo "dk_start: dockerd $name not ready (died or ${DK_START_TIMEOUT} s passed); tail of $dir/dockerd.log:" >&2
		tail -20 "$dir/dockerd.log" >&2
		return 1
	fi
	pid=$(cat "$dir/dockerd.pid" 2>/dev/null || echo "?")
	echo "dockerd $name ready in $(($(tl_now_ms) - t0)) ms (pid $pid${ns:+, netns $ns})"
}

# pids of processes this daemon left behind: same mount ns (containerd, shims), inside
# its cgroup parent (containers), or in a cgroup named after one of its plugin IDs
_dk_leftovers() {
	local dir=$1 cg mnt p id
	cg=$(_dk_cgroup "$dir")
	mnt=$(cat "$dir/mntns" 2>/dev/null || true)
	for p in /proc/[0-9]*; do
		if [ -n "$mnt" ] && [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$mnt" ]; then echo "${p#/proc/}"; fi
	done
	cat /sys/fs/cgroup/pids/"$cg"/*/cgroup.procs 2>/dev/null || true
	for p in "$dir"/data/plugins/*/; do
		id=$(basename "$p")
		case $id in *[!0-9a-f]*) continue ;; esac
		if [ ${#id} -eq 64 ]; then cat "/sys/fs/cgroup/pids/$id/cgroup.procs" 2>/dev/null || true; fi
	done
	return 0
}

# _dk_none_left DIR : no process of DIR's dockerd is left (a wait_until probe)
_dk_none_left() { [ -z "$(_dk_leftovers "$1")" ]; }

# dk_stop DIR [NETNS-to-delete] : SIGTERM dockerd (it stops containers, plugins and its
# containerd), wait up to 30 s, then SIGKILL whatever is left by PID. Mounts vanish with
# the private mount namespace; the netns is deleted if named. Safe under set -e.
dk_stop() {
	local dir=$1 ns=${2:-} name pid t0 left
	dir=$(_dk_dir "$dir")
	name=$(basename "$dir")
	pid=$(cat "$dir/dockerd.pid" 2>/dev/null || true)
	t0=$(tl_now_ms)
	tl_stop 30 "$pid" "dockerd $name"
	left=$(_dk_leftovers "$dir" | sort -u | tr '\n' ' ')
	if [ -n "${left// /}" ]; then
		echo "dockerd $name: killing leftovers $left" >&2
		# shellcheck disable=SC2086  # list of PIDs
		kill -KILL $left 2>/dev/null || true
		wait_until -q 5 _dk_none_left "$dir" || true
	fi
	echo "dockerd $name stopped in $(($(tl_now_ms) - t0)) ms"
	# empty cgroup dirs: ours (--cgroup-parent) and /<plugin-id> ones runc leaves behind
	local c id
	for c in /sys/fs/cgroup/*/"$(_dk_cgroup "$dir")"; do
		if [ -d "$c" ]; then find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
	done
	for c in "$dir"/data/plugins/*/; do
		id=$(basename "$c")
		case $id in *[!0-9a-f]*) continue ;; esac
		if [ ${#id} -eq 64 ]; then rmdir /sys/fs/cgroup/*/"$id" 2>/dev/null || true; fi
	done
	# a daemon run WITHOUT a private mount ns leaves these if killed hard
	{ grep -o " $dir/[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
	if [ -n "$ns" ]; then ns_del "$ns"; fi
	return 0
}

# dk_log_tail NODE [N] : the last N lines of NODE's dockerd.log, on stderr
dk_log_tail() {
	local d
	d=$(_dk_dir "$1")
	echo "--- last ${2:-40} lines of $d/dockerd.log" >&2
	tail -n "${2:-40}" "$d/dockerd.log" >&2 2>/dev/null || true
}

# dk_up NAME [NETNS] [FLAGS...] : dk_start $DK_BASE/NAME in NETNS (default $(ns_name NAME)),
# dk_stop + netns delete at exit, dockerd.log tail on failure
dk_up() {
	local name=$1 ns=${2:-}
	shift
	[ $# -gt 0 ] && shift
	[ -n "$ns" ] || ns=$(ns_name "$name")
	tl_defer "dk_stop '$(_dk_dir "$name")' '$ns' >/dev/null"
	tl_on_fail "dk_log_tail '$name' 30"
	dk_start "$(_dk_dir "$name")" "$ns" "$@"
}

# dk_busybox_rootfs OUT : minimal rootfs from Debian's busybox-static (+ /etc/passwd,
# /etc/group with root, nobody and mpf (uid 376))
dk_busybox_rootfs() {
	local out=$1 a
	mkdir -p "$out/bin" "$out/etc" "$out/tmp" "$out/proc" "$out/sys" "$out/dev"
	chmod 1777 "$out/tmp"
	cp /bin/busybox "$out/bin/busybox"
	for a in sh ash ls cat echo sleep ping ip hostname nslookup wget mount touch mkdir rm \
		stat grep head tail id ps sed awk cut sort wc cmp md5sum sha256sum dd find chmod \
		chown seq date env true false test timeout df du printf kill nc tee xargs; do
		ln -sf busybox "$out/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nmpf:x:376:376:mpf:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$out/etc/passwd"
	printf 'root:x:0:\nmpf:x:376:\nnogroup:x:65534:\n' >"$out/etc/group"
}

# dk_busybox_image NODE [IMAGE] : docker import the busybox rootfs as IMAGE (bb:latest).
# The rootfs is built once per DK_BASE.
dk_busybox_image() {
	local node=$1 image=${2:-bb:latest} rootfs
	rootfs=${DK_BASE:-/tmp/dk-test}/.bb-rootfs
	[ -x "$rootfs/bin/busybox" ] || dk_busybox_rootfs "$rootfs"
	tar -C "$rootfs" -c . | dk "$node" import - "$image" >/dev/null
}

# dk_plugin_id NODE NAME:TAG : the plugin's full ID
dk_plugin_id() { dk "$1" plugin inspect -f '{{.Id}}' "$2"; }

# dk_plugin_log NODE NAME:TAG [N] : the plugin's own output lines (dockerd copies the
# plugin's stderr at level=error and stdout at level=info, tagged plugin=<id>); prints
# the msg="..." part of the last N (40) lines
dk_plugin_log() {
	local d id
	d=$(_dk_dir "$1")
	id=$(dk_plugin_id "$1" "$2" 2>/dev/null) || id=""
	if [ -z "$id" ]; then
		echo "dk_plugin_log: plugin $2 not found on $1" >&2
		return 1
	fi
	grep -F "plugin=$id" "$d/dockerd.log" | tail -n "${3:-40}" |
		sed -E 's/^.*msg="(([^"\\]|\\.)*)".*$/\1/; s/\\"/"/g'
}

# dk_plugin_install NODE NAME:TAG DIR [KEY=VAL...] : docker plugin create NAME:TAG from
# DIR (config.json + rootfs/), set the settings, enable. On failure prints the daemon
# log tail and the plugin's output, and returns 1.
dk_plugin_install() {
	local node=$1 name=$2 dir=$3 t0
	shift 3
	t0=$(tl_now_ms)
	if ! dk "$node" plugin create "$name" "$dir" >/dev/null; then
		echo "dk_plugin_install: plugin create $name from $dir failed on $node" >&2
		return 1
	fi
	if [ $# -gt 0 ] && ! dk "$node" plugin set "$name" "$@"; then
		echo "dk_plugin_install: plugin set $name $* failed on $node" >&2
		return 1
	fi
	if ! dk "$node" plugin enable "$name" >/dev/null; then
		echo "dk_plugin_install: plugin enable $name failed on $node" >&2
		dk_log_tail "$node" 20
		dk_plugin_log "$node" "$name" 20 >&2 || true
		return 1
	fi
	echo "$node: plugin $name enabled in $(($(tl_now_ms) - t0)) ms"
}

# dk_host_exec NODE CMD... : run CMD inside NODE's dockerd mount and network namespaces
# (mounts made there are private to that daemon, its containers and plugins)
dk_host_exec() {
	local d pid
	d=$(_dk_dir "$1")
	shift
	pid=$(cat "$d/dockerd.pid" 2>/dev/null) || {
		echo "dk_host_exec: no $d/dockerd.pid" >&2
		return 1
	}
	nsenter -t "$pid" --mount --net -- "$@"
}

# dk_resolved_stub NODE ADDR... : in NODE's dockerd mount namespace only, bind a file
# holding just `nameserver 127.0.0.53` (the systemd-resolved stub) over /etc/resolv.conf
# and put a tmpfs on /run/systemd whose resolve/resolv.conf names the upstream servers
# ADDR... Do it before plugins are enabled: a plugin sees the mounts of its daemon's
# namespace at enable time. (/run/systemd is created on the host if it is missing, like
# /run/docker by dk_start; nothing is mounted there on the host.)
dk_resolved_stub() {
	local node=$1 d a
	shift
	d=$(_dk_dir "$node")
	mkdir -p "$d/resolved"
	printf '# systemd-resolved stub (test)\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n' \
		>"$d/resolved/stub-resolv.conf"
	{
		echo "# upstream servers systemd-resolved uses (test)"
		for a in "$@"; do echo "nameserver $a"; done
		echo "search ."
	} >"$d/resolved/resolv.conf"
	mkdir -p /run/systemd
	# shellcheck disable=SC2016  # expanded by the inner shell
	dk_host_exec "$node" sh -c '
		set -e
		mount --bind "$1/stub-resolv.conf" /etc/resolv.conf
		mount -t tmpfs -o mode=0755 resolved-test /run/systemd
		mkdir -p /run/systemd/resolve
		cp "$1/resolv.conf" /run/systemd/resolve/resolv.conf
		cp "$1/stub-resolv.conf" /run/systemd/resolve/stub-resolv.conf' sh "$d/resolved"
}
