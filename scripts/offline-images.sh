#!/usr/bin/env bash
# Build local stand-ins for the base images the Dockerfile uses, for machines
# that reach Debian's package mirror and the crate registry but no container
# registry. Each stand-in is tagged with the Dockerfile's default name, so that
# afterwards a plain `make up` (or `docker build .`) works offline, and nothing
# in the Dockerfile differs between the two worlds.
#
#   builder  (ARG RUST_IMAGE, rust:1-bookworm): Debian bookworm (debootstrap
#            minbase) + gcc + libc6-dev, this machine's Rust toolchain (found
#            with `rustc --print sysroot`) on PATH, and this machine's CA bundle
#            so that cargo's TLS works where the network intercepts it.
#   runtime  (ARG RUNTIME_IMAGE, gcr.io/distroless/cc-debian12:nonroot): what
#            distroless cc provides, from the same Debian packages: glibc,
#            libgcc, libstdc++, libgomp, libssl, CA certificates, tzdata,
#            netbase, and the `nonroot` user (65532). No shell.
#
# Idempotent: an image whose tag exists is left alone (FORCE=1 rebuilds both).
# Needs root (debootstrap), docker, debootstrap and a Rust toolchain >= 1.85.
# Settings (environment): DEBIAN_MIRROR (default http://deb.debian.org/debian),
# CA_BUNDLE (default /etc/ssl/certs/ca-certificates.crt), DOCKER (client).
set -euo pipefail

cd "$(dirname "$0")/.."

say() { printf 'offline-images: %s\n' "$*"; }
die() { printf 'offline-images: error: %s\n' "$*" >&2; exit 1; }

# The names come from the Dockerfile itself, so they cannot drift apart.
arg_default() { sed -n "s/^ARG $1=//p" Dockerfile | head -n 1; }
RUST_IMAGE=$(arg_default RUST_IMAGE)
RUNTIME_IMAGE=$(arg_default RUNTIME_IMAGE)
[[ -n $RUST_IMAGE && -n $RUNTIME_IMAGE ]] || die "cannot read ARG RUST_IMAGE / RUNTIME_IMAGE defaults from Dockerfile"

SUITE=bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

# A client that talks to the engine. A newer client earlier on PATH may lack
# what an older engine needs; Debian's own client is the fallback.
pick_docker() {
  local c
  for c in ${DOCKER:-} docker /usr/bin/docker; do
    if command -v "$c" >/dev/null 2>&1 && "$c" version >/dev/null 2>&1; then
      echo "$c"; return 0
    fi
  done
  return 1
}
DOCKER=$(pick_docker) || die "no docker client can reach a docker engine"

have_image() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

need_builder=1 need_runtime=1
if [[ -z ${FORCE:-} ]]; then
  have_image "$RUST_IMAGE" && need_builder=0
  have_image "$RUNTIME_IMAGE" && need_runtime=0
fi
if (( ! need_builder && ! need_runtime )); then
  say "$RUST_IMAGE and $RUNTIME_IMAGE present, nothing to do"
  exit 0
fi

[[ $(id -u) == 0 ]] || die "must run as root (debootstrap)"
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"

if (( need_builder )); then
  command -v rustc >/dev/null || die "no Rust toolchain on this machine (rustc not on PATH)"
  SYSROOT=$(rustc --print sysroot)
  RUSTC_VERSION=$(rustc --version | awk '{print $2}')
  IFS=. read -r rv_major rv_minor _ <<<"$RUSTC_VERSION"
  (( rv_major > 1 || rv_minor >= 85 )) || die "rustc $RUSTC_VERSION is too old (edition 2024 needs >= 1.85)"
  [[ -x $SYSROOT/bin/cargo && -x $SYSROOT/bin/rustc ]] || die "no cargo/rustc under $SYSROOT/bin"
  [[ -s $CA_BUNDLE ]] || die "CA bundle $CA_BUNDLE not found"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/offline-images.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOTFS=$WORK/rootfs
started=$SECONDS

# One Debian tree serves both: the builder is this tree, the runtime is made of
# a few of the packages debootstrap downloaded into it.
say "debootstrap $SUITE (minbase + gcc) from $DEBIAN_MIRROR ..."
if ! debootstrap --variant=minbase \
      --include=gcc,libc6-dev,ca-certificates,netbase,tzdata \
      "$SUITE" "$ROOTFS" "$DEBIAN_MIRROR" >"$WORK/debootstrap.log" 2>&1; then
  tail -n 20 "$WORK/debootstrap.log" >&2
  die "debootstrap failed"
fi
ARCHIVES=$ROOTFS/var/cache/apt/archives

# tar a tree into `docker import`, with numeric owners and without the
# pseudo-filesystems' contents (the engine provides /dev, /proc, /sys).
import_tree() { # DIR IMAGE [--change ...]
  local dir=$1 image=$2; shift 2
  tar --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
      -C "$dir" -c . | "$DOCKER" import "$@" - "$image" >/dev/null
}

if (( need_runtime )); then
  RT=$WORK/runtime
  mkdir -p "$RT"
  for pkg in base-files netbase tzdata ca-certificates libc6 libgcc-s1 libgomp1 libstdc++6 libssl3; do
    deb=$(compgen -G "$ARCHIVES/${pkg}_*.deb" | head -n 1) || die "package $pkg was not downloaded"
    dpkg-deb -x "$deb" "$RT"
  done
  # distroless ships the Mozilla bundle (update-ca-certificates' output).
  mkdir -p "$RT/etc/ssl/certs"
  cat "$RT"/usr/share/ca-certificates/mozilla/*.crt >"$RT/etc/ssl/certs/ca-certificates.crt"
  cat >"$RT/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
  cat >"$RT/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
GROUP
  printf 'hosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' >"$RT/etc/nsswitch.conf"
  install -d -m 0700 "$RT/root"
  install -d -m 0700 -o 65532 -g 65532 "$RT/home/nonroot"
  install -d -m 1777 "$RT/tmp"
  install -d -m 0755 "$RT/dev" "$RT/proc" "$RT/sys"
  rm -rf "$RT/usr/share/man" "$RT/usr/share/info" "$RT/usr/share/lintian" \
         "$RT"/usr/share/doc/*/changelog*
  import_tree "$RT" "$RUNTIME_IMAGE" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'USER 65532' \
    --change 'WORKDIR /home/nonroot'
  say "built $RUNTIME_IMAGE (stand-in from Debian $SUITE packages)"
fi

if (( need_builder )); then
  rm -f "$ARCHIVES"/*.deb
  : >"$ROOTFS/etc/resolv.conf"
  rm -f "$ROOTFS/etc/hostname"
  # The machine's CA bundle, so that TLS to the crate registry verifies even
  # where it is intercepted.
  cp "$CA_BUNDLE" "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
  # The toolchain where the official image keeps its own, found relative to
  # rustc (rustc locates its sysroot from its own path).
  mkdir -p "$ROOTFS/usr/local/rust" "$ROOTFS/usr/local/cargo"
  cp -a "$SYSROOT/bin" "$SYSROOT/lib" "$ROOTFS/usr/local/rust/"
  chmod a+w "$ROOTFS/usr/local/cargo"
  import_tree "$ROOTFS" "$RUST_IMAGE" \
    --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV CARGO_HOME=/usr/local/cargo' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["bash"]'
  say "built $RUST_IMAGE (stand-in: Debian $SUITE + gcc + rustc $RUSTC_VERSION)"
fi

say "done in $(( SECONDS - started ))s"
