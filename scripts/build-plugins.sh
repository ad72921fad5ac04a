#!/bin/bash
# SPDX-License-Identifier: MIT
# build-plugins.sh - build both managed-plugin directories from the local source tree,
# without any base image (the path for machines that cannot pull one; the Dockerfile is
# the path for machines that can). Optionally create the plugins in a Docker daemon and
# push them to a registry.
#
#     scripts/build-plugins.sh [--out DIR] [--build DIR] [--prefix NAME] [--tag TAG]
#                              [--create] [--push REGISTRY] [--no-build]
#
#   --out DIR        plugin directories go to DIR/ipam and DIR/nfs-volume (default out/plugins)
#   --build DIR      CMake build directory (default build; Release, tests off if new)
#   --prefix NAME    plugin name prefix (default openmpf): PREFIX/ipam, PREFIX/nfs-volume
#   --tag TAG        plugin tag (default: the project version, e.g. 1.1.0, and latest)
#   --create         docker plugin create both in the daemon DOCKER_HOST points to, as
#                    PREFIX/NAME:latest (or :TAG); an existing plugin of that name is
#                    removed first (it must be disabled). One daemon cannot hold the same
#                    plugin content under two names, so only the last tag stays created.
#   --push REGISTRY  create as REGISTRY/PREFIX/NAME:VERSION and push, then the same as
#                    :latest (implies --create); then on every node:
#                    docker plugin install --grant-all-permissions \
#                        --alias PREFIX/NAME:latest REGISTRY/PREFIX/NAME:VERSION KEY=VALUE...
#   --no-build       use the binaries already in the build directory
#   --version        print the version the plugins get (from the built binary) and exit
#
# Env: DOCKER (docker CLI, default docker), SOURCE_DATE_EPOCH (rootfs mtimes, default 0).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/out/plugins build=$top/build prefix=openmpf tag="" create=0 push="" dobuild=1 only_version=0
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift ;;
	--build) build=$2; shift ;;
	--prefix) prefix=$2; shift ;;
	--tag) tag=$2; shift ;;
	--create) create=1 ;;
	--push) push=$2; create=1; shift ;;
	--no-build) dobuild=0 ;;
	--version) only_version=1 ;;
	-h | --help) sed -n '3,26p' "$0"; exit 0 ;;
	*) echo "build-plugins: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
DOCKER=${DOCKER:-docker}

# plugin table: name in the registry, binary (relative to the build dir), manifest
plugins=(
	"ipam ipam-plugin/ipam-plugin ipam-plugin/config.json"
	"nfs-volume volume-plugin/volume-plugin volume-plugin/config.json"
)

if [ "$dobuild" = 1 ]; then
	if [ ! -f "$build/CMakeCache.txt" ]; then
		cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
	fi
	cmake --build "$build" -j"$(nproc)" --target ipam-plugin volume-plugin
fi

# The version the binaries were built with (project(... VERSION) in CMakeLists.txt).
version=$("$build/ipam-plugin/ipam-plugin" --version 2>/dev/null | awk '{print $2}') || version=""
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
	{ echo "build-plugins: cannot read the version from $build/ipam-plugin/ipam-plugin --version" >&2; exit 1; }
if [ "$only_version" = 1 ]; then
	echo "$version"
	exit 0
fi
if [ -n "$tag" ]; then tags=("$tag"); else tags=("$version" latest); fi

for p in "${plugins[@]}"; do
	read -r name bin cfg <<<"$p"
	[ -x "$build/$bin" ] || { echo "build-plugins: $build/$bin missing (build failed?)" >&2; exit 1; }
	[ -f "$top/$cfg" ] || { echo "build-plugins: manifest $top/$cfg missing" >&2; exit 1; }
	"$top/scripts/make-plugin-dir.sh" "$out/$name" "$top/$cfg" "$build/$bin"
done

echo "$version" >"$out/VERSION"
echo "build-plugins: version $version in $out/{ipam,nfs-volume}"
[ "$create" = 1 ] || exit 0
# Without a registry only the last tag is created; with one, each tag is created, pushed
# and removed again before the next (same content under two names is refused).
[ -n "$push" ] || tags=("${tags[-1]}")
for p in "${plugins[@]}"; do
	read -r name _ _ <<<"$p"
	for ((i = 0; i < ${#tags[@]}; i++)); do
		ref=$prefix/$name:${tags[i]}
		[ -n "$push" ] && ref=$push/$ref
		if "$DOCKER" plugin inspect "$ref" >/dev/null 2>&1; then
			"$DOCKER" plugin rm "$ref" >/dev/null
		fi
		"$DOCKER" plugin create "$ref" "$out/$name" >/dev/null
		echo "build-plugins: created $ref"
		if [ -n "$push" ]; then
			"$DOCKER" plugin push "$ref" >/dev/null
			echo "build-plugins: pushed $ref"
			if ((i < ${#tags[@]} - 1)); then "$DOCKER" plugin rm "$ref" >/dev/null; fi
		fi
	done
done
