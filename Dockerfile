# SPDX-License-Identifier: MIT
# Builds both managed-plugin root file systems (for machines with Docker and a base image;
# scripts/build-plugins.sh makes the same directories from a local build without one).
#
# Stages:
#   build        Debian 12 with the -dev packages; compiles, then assembles
#                /out/<plugin>/{config.json,rootfs/} with scripts/make-plugin-dir.sh
#                (binary at the manifest's entrypoint path + exactly the libraries ldd lists)
#   ipam         runtime: only the IPAM plugin's rootfs (FROM scratch)
#   nfs-volume   runtime: only the volume plugin's rootfs (FROM scratch)
#   plugins      both plugin directories and VERSION (the project version), for `--output`
#
# Plugin directories straight to disk (BuildKit), then create, or create and push with the
# version tag and latest (scripts/build-plugins.sh --no-build does the same from a local
# build; one daemon refuses the same content under two names, hence the rm in between):
#   DOCKER_BUILDKIT=1 docker build --target plugins --output type=local,dest=out/plugins .
#   v=$(cat out/plugins/VERSION)
#   docker plugin create openmpf/ipam:latest out/plugins/ipam
#   docker plugin create openmpf/nfs-volume:latest out/plugins/nfs-volume
#   # or, per plugin: for t in $v latest; do
#   #     docker plugin create REGISTRY/openmpf/ipam:$t out/plugins/ipam &&
#   #     docker plugin push REGISTRY/openmpf/ipam:$t && docker plugin rm REGISTRY/openmpf/ipam:$t; done
#
# Without BuildKit, export a runtime stage into a rootfs:
#   docker build --target ipam -t openmpf-ipam-rootfs .
#   id=$(docker create openmpf-ipam-rootfs) && mkdir -p p/rootfs &&
#   docker export "$id" | tar -x -C p/rootfs && docker rm "$id" &&
#   cp ipam-plugin/config.json p/ && docker plugin create openmpf/ipam:latest p
#
# The name prefix is free: docker plugin create myorg/ipam:1.0 ... (drivers are then named
# myorg/ipam:1.0 in compose files and commands).

ARG DEBIAN_IMAGE=debian:bookworm

FROM ${DEBIAN_IMAGE} AS build
RUN apt-get update \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		build-essential cmake pkg-config \
		libmicrohttpd-dev libjansson-dev libmnl-dev libnfs-dev libfuse3-dev \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY shared/ shared/
COPY ipam-plugin/ ipam-plugin/
COPY volume-plugin/ volume-plugin/
COPY scripts/make-plugin-dir.sh scripts/
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
	&& cmake --build /build -j"$(nproc)" --target ipam-plugin volume-plugin \
	&& scripts/make-plugin-dir.sh /out/ipam ipam-plugin/config.json /build/ipam-plugin/ipam-plugin \
	&& scripts/make-plugin-dir.sh /out/nfs-volume volume-plugin/config.json \
		/build/volume-plugin/volume-plugin \
	&& /build/ipam-plugin/ipam-plugin --version | cut -d' ' -f2 >/out/VERSION

# Runtime stages: nothing but the binary, its libraries, the ELF loader and the mount
# points the manifest declares. The entrypoint comes from config.json when Docker runs the
# plugin; ENTRYPOINT here only lets `docker create` accept the image for an export.
FROM scratch AS ipam
COPY --from=build /out/ipam/rootfs/ /
ENTRYPOINT ["/usr/bin/ipam-plugin"]

FROM scratch AS nfs-volume
COPY --from=build /out/nfs-volume/rootfs/ /
ENTRYPOINT ["/usr/bin/volume-plugin"]

FROM scratch AS plugins
COPY --from=build /out/ /
