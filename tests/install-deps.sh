#!/bin/bash
# install-deps.sh - Debian 12 packages to build the plugins and run every test layer.
# Idempotent; needs root. Set SKIP_APT=1 to skip (e.g. when the packages are known present).
set -euo pipefail
[ "${SKIP_APT:-0}" = 1 ] && exit 0
pkgs=(
	build-essential cmake pkg-config                     # toolchain
	libmicrohttpd-dev libjansson-dev libmnl-dev          # HTTP, JSON, netlink
	libnfs-dev libnfs-utils libfuse3-dev fuse3 check     # NFS client, FUSE, unit tests
	nfs-ganesha nfs-ganesha-vfs rpcbind                  # the real NFS server for tests
	docker.io busybox-static docker-registry             # dockerd e2e, stand-in images, registry
	iproute2 nftables util-linux procps psmisc kmod      # namespaces, outages, process control
	mmdebstrap                                           # the Dockerfile's base image in CI
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#pkgs[@]} packages present"
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
