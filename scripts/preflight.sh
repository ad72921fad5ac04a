#!/bin/bash
# SPDX-License-Identifier: MIT
# preflight.sh - would deploying work from this node? Run it on each node (as root, with
# Docker, the installed plugins and this repository; nothing else):
#
#     scripts/preflight.sh [--subnet CIDR]... [--volume NAME] [--ipam NAME] [--no-volume] [--no-ipam]
#
#   --subnet CIDR   a subnet you mean to give a network (--subnet, ipam.config.subnet):
#                   is it free here, and if not, what collides and what is free instead
#   --volume NAME   the volume plugin (default openmpf/nfs-volume:latest)
#   --ipam NAME     the IPAM plugin (default openmpf/ipam:latest)
#   --no-volume, --no-ipam   skip that plugin
#
# It asks each installed plugin over its own socket (/run/docker/plugins/<id>/<socket>):
#   volume (POST /Preflight.Volume): NFS_SERVER/NFS_EXPORT set, the server answers (round
#     trip time), whether root is squashed, the export writable as DEFAULT_UID/GID;
#   IPAM (POST /Preflight.Ipam): each --subnet free or colliding (culprits, a suggestion),
#     whether POOLS overlaps the swarm's default address pools (docker info; none means
#     10.0.0.0/8), what would be chosen now.
# Prints one problem (with its fix) or fact per line. Exit 0 only when deploying would
# work, 1 when a problem was found, 2 on bad usage.
#
# Env: DOCKER (docker CLI), PLUGIN_SOCKET_DIR (/run/docker/plugins). Talks HTTP over the
# unix sockets with curl, or perl (always on Debian), or python3.
set -uo pipefail
DOCKER=${DOCKER:-docker}
SOCKDIR=${PLUGIN_SOCKET_DIR:-/run/docker/plugins}
vol=openmpf/nfs-volume:latest ipam=openmpf/ipam:latest subnets=() problems=0

usage() { sed -n '3,24p' "$0"; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
	case $1 in
	--subnet) [ $# -ge 2 ] || usage; subnets+=("$2"); shift ;;
	--volume) [ $# -ge 2 ] || usage; vol=$2; shift ;;
	--ipam) [ $# -ge 2 ] || usage; ipam=$2; shift ;;
	--no-volume) vol="" ;;
	--no-ipam) ipam="" ;;
	-h | --help) usage 0 ;;
	*) echo "preflight: unknown argument '$1'" >&2; usage ;;
	esac
	shift
done

problem() { echo "PROBLEM: $*"; problems=$((problems + 1)); }
say() { echo "$*"; }

# post SOCKET PATH BODY : HTTP POST over a unix socket; prints the response body
post() {
	local sock=$1 path=$2 body=$3
	if command -v curl >/dev/null 2>&1; then
		curl -sS --max-time 120 --unix-socket "$sock" -H 'Content-Type: application/json' \
			-d "$body" "http://plugin$path"
	elif command -v perl >/dev/null 2>&1; then
		perl -MIO::Socket::UNIX -e '
			my ($sock, $path, $body) = @ARGV;
			my $s = IO::Socket::UNIX->new(Peer => $sock) or die "connect $sock: $!\n";
			print $s "POST $path HTTP/1.0\r\nHost: plugin\r\nContent-Type: application/json\r\n" .
				"Content-Length: " . length($body) . "\r\n\r\n$body";
			local $/; my $r = <$s>; $r =~ s/^.*?\r\n\r\n//s; print $r;' "$sock" "$path" "$body"
	elif command -v python3 >/dev/null 2>&1; then
		python3 -c '
import socket, sys
sock, path, body = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX); s.connect(sock)
s.sendall(("POST %s HTTP/1.0\r\nHost: plugin\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (path, len(body), body)).encode())
r = b""
while True:
    d = s.recv(65536)
    if not d: break
    r += d
sys.stdout.write(r.split(b"\r\n\r\n", 1)[-1].decode())' "$sock" "$path" "$body"
	else
		echo '{"Err":"no HTTP client (curl, perl or python3) on this node"}'
	fi
}

# json_str JSON KEY : the string value of "KEY" (\n, \", \\ and \/ decoded)
json_str() {
	printf '%s' "$1" | sed -n "s/.*\"$2\"[[:space:]]*:[[:space:]]*\"\(\([^\"\\\\]\|\\\\.\)*\)\".*/\1/p" |
		sed 's/\\n/\n/g; s/\\t/\t/g; s/\\"/"/g; s/\\\//\//g; s/\\\\/\\/g'
}
# json_ok JSON : true if "Ok": true
json_ok() { printf '%s' "$1" | grep -q '"Ok"[[:space:]]*:[[:space:]]*true'; }

# plugin_socket NAME : the host path of an enabled plugin's socket (status 0), or what
# is wrong with its fix (status 1)
plugin_socket() {
	local name=$1 info id enabled sockname
	if ! info=$("$DOCKER" plugin inspect -f '{{.Id}} {{.Enabled}} {{.Config.Interface.Socket}}' "$name" 2>&1); then
		echo "plugin $name is not installed on this node. Fix: docker plugin install --grant-all-permissions --alias $name REGISTRY/$name KEY=VALUE... (README: Install)"
		return 1
	fi
	read -r id enabled sockname <<<"$info"
	if [ "$enabled" != true ]; then
		echo "plugin $name is installed but disabled. Fix: docker plugin enable $name (its error says what to fix)"
		return 1
	fi
	if [ ! -S "$SOCKDIR/$id/$sockname" ]; then
		echo "plugin $name is enabled but its socket $SOCKDIR/$id/$sockname is missing. Fix: docker plugin disable -f $name; docker plugin enable $name"
		return 1
	fi
	echo "$SOCKDIR/$id/$sockname"
}

# state_note NAME : a moved state.source is reset by docker plugin upgrade: say so
state_note() {
	local src
	src=$("$DOCKER" plugin inspect -f '{{range .Settings.Mounts}}{{if eq .Name "state"}}{{.Source}}{{end}}{{end}}' "$1" 2>/dev/null)
	if [ -n "$src" ] && [ "$src" != /var/lib ]; then
		say "note: $1 has state.source=$src: docker plugin upgrade puts it back to /var/lib; set it again before enable (README: Upgrade)"
	fi
}

# report LABEL REPLY PLUGIN : print the plugin's report (NAME in fixes = PLUGIN); count
# a failure
report() {
	local label=$1 reply=$2 name=$3 err text
	err=$(json_str "$reply" Err)
	if [ -n "$err" ] || ! printf '%s' "$reply" | grep -q '"Report"'; then
		problem "$label preflight failed: ${err:-no answer ($reply)}"
		return
	fi
	text=$(json_str "$reply" Report | sed "s|\bNAME\b|$name|g")
	printf '%s\n' "$text" | sed '/^$/d'
	if ! json_ok "$reply"; then
		n=$(printf '%s\n' "$text" | grep -c '^PROBLEM' || true)
		problems=$((problems + (n > 0 ? n : 1)))
	fi
}

if ! "$DOCKER" version -f '{{.Server.Version}}' >/dev/null 2>&1; then
	problem "the Docker daemon does not answer ($DOCKER version). Fix: start it (systemctl start docker) and run this as root"
	exit 1
fi

if [ -n "$vol" ]; then
	echo "== volume plugin $vol"
	if sock=$(plugin_socket "$vol"); then
		state_note "$vol"
		report "volume" "$(post "$sock" /Preflight.Volume '{}')" "$vol"
	else
		problem "$sock"
	fi
fi

if [ -n "$ipam" ]; then
	echo "== IPAM plugin $ipam"
	if sock=$(plugin_socket "$ipam"); then
		state_note "$ipam"
		pools=$("$DOCKER" info -f '{{with .Swarm.Cluster}}{{range .DefaultAddrPool}}{{.}} {{end}}{{end}}' 2>/dev/null | xargs)
		[ -n "$pools" ] || pools=10.0.0.0/8
		say "swarm default address pools: $pools"
		body='{"Subnets":['
		sep=""
		for s in "${subnets[@]+"${subnets[@]}"}"; do
			case $s in *[!0-9a-fA-F.:/]*) echo "preflight: --subnet '$s' is not a CIDR" >&2; exit 2 ;; esac
			body+="$sep\"$s\"" sep=,
		done
		body+='],"DefaultAddrPools":['
		sep=""
		for p in $pools; do body+="$sep\"$p\"" sep=,; done
		body+=']}'
		reply=$(post "$sock" /Preflight.Ipam "$body")
		case $reply in
		*"unknown endpoint"*)
			problem "plugin $ipam has no preflight endpoint (older than this script). Fix: upgrade it (README: Upgrade)" ;;
		*) report "IPAM" "$reply" "$ipam" ;;
		esac
	else
		problem "$sock"
	fi
fi

echo
if [ "$problems" = 0 ]; then
	echo "preflight: OK: deploying would work from this node"
	exit 0
fi
echo "preflight: $problems problem(s): fix them (each line says how) and run it again"
exit 1
