#!/usr/bin/env bash
# Builds the release image without a container daemon: Debian's buildah, its vfs storage driver and
# chroot isolation, with its storage inside the output folder (nothing under /var/lib/containers).
#
# No registry is needed: the base is not pulled (`FROM scratch`); the root filesystem is assembled
# here from the pinned Debian packages of scripts/image/debian-packages.txt, downloaded with apt and
# unpacked with dpkg-deb (no maintainer scripts run), plus the static-runtime binaries of BIN_DIR.
#
# Environment (the Makefile's `image-build` target sets it): IMAGE, VERSION, REVISION, SOURCE,
# LICENSES, CREATED_EPOCH, RELEASE (the release build command), BIN_DIR (where it puts binaries), OUT. Writes $OUT/edgeml-image.oci.tar (an OCI archive: `skopeo copy
# oci-archive:… docker://…` pushes it, `k3s ctr images import` loads it) and $OUT/image.json.
# With IMAGE_OPTIONAL=1, a machine where buildah cannot run gets a message and $OUT/skipped instead
# of a failure (acceptance/test_image.py then skips, saying why).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${IMAGE:?}" "${VERSION:?}" "${REVISION:?}" "${SOURCE:?}" "${LICENSES:?}" "${CREATED_EPOCH:?}" "${RELEASE:?}" "${BIN_DIR:?}" "${OUT:?}"
pins="scripts/image/debian-packages.txt"
storage=(--root "$OUT/storage" --runroot "$OUT/run" --storage-driver vfs)
mkdir -p "$OUT"
rm -f "$OUT/skipped" "$OUT/image.json"

skip() {
  echo "image: $1" >&2
  if [ "${IMAGE_OPTIONAL:-0}" = 1 ]; then
    echo "$1" > "$OUT/skipped"
    echo "image: not built; acceptance/test_image.py will skip" >&2
    exit 0
  fi
  exit 1
}
command -v buildah >/dev/null || skip "buildah is not installed (scripts/image/setup.sh installs it on Debian)"
command -v skopeo >/dev/null || skip "skopeo is not installed (scripts/image/setup.sh installs it on Debian)"
buildah "${storage[@]}" rm edgeml-image-probe >/dev/null 2>&1 || true   # left by an interrupted run
if ! probe="$(buildah "${storage[@]}" from --name edgeml-image-probe scratch 2>&1)"; then
  skip "buildah cannot run here: $probe"
fi
buildah "${storage[@]}" rm edgeml-image-probe >/dev/null

# 0. The binaries: $RELEASE is the Makefile's static-runtime release build (`make bench` shares it).
for bin in edgeml-operator edgeml-engine edgeml; do
  $RELEASE --product "$bin"
done

# 1. The pinned packages, downloaded once into $OUT/debs. apt checks each file against the signed
#    archive index, so a pin names exactly one file.
debs="$OUT/debs"
mkdir -p "$debs"
mapfile -t packages < <(grep -v '^[[:space:]]*\(#\|$\)' "$pins")
arch="$(dpkg --print-architecture)"
# The downloaded file of a pin, if there is one; apt-get download writes an epoch's colon as %3a.
deb_of() {
  local name="${1%%=*}" version="${1#*=}" candidate
  for candidate in "$debs/${name}_${version//:/%3a}_$arch.deb" "$debs/${name}_${version//:/%3a}_all.deb"; do
    [ -f "$candidate" ] && { echo "$candidate"; return; }
  done
  return 0
}
missing=()
for pin in "${packages[@]}"; do
  [ -n "$(deb_of "$pin")" ] || missing+=("$pin")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "image: downloading ${#missing[@]} pinned packages"
  # apt-get download runs as the _apt user where it can, which may not write here: -o says it may not.
  if ! (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}" >/dev/null); then
    echo "image: apt could not download the pins of $pins (a pinned version that left the archive?)." >&2
    echo "image: bump them: apt-get update && scripts/image/pin-packages.sh $BIN_DIR > $pins" >&2
    exit 1
  fi
fi

# 2. The root filesystem.
context="$OUT/context"
rm -rf "$context"
rootfs="$context/rootfs"
mkdir -p "$rootfs/var/lib/dpkg/status.d" "$rootfs/etc/ssl/certs" "$rootfs/usr/local/bin" "$context/bin"
for pin in "${packages[@]}"; do
  name="${pin%%=*}" deb="$(deb_of "$pin")"
  [ -n "$deb" ] || { echo "image: apt-get download left no file for $pin in $debs" >&2; exit 1; }
  dpkg-deb -x "$deb" "$rootfs"
  # One control file per package under /var/lib/dpkg/status.d, the layout of Google's distroless
  # images (GoogleContainerTools/distroless), so image scanners can list packages without dpkg.
  dpkg-deb -f "$deb" > "$rootfs/var/lib/dpkg/status.d/$name"
done
# Documentation but each package's copyright file (its licence), which the image must carry.
find "$rootfs/usr/share/doc" -mindepth 2 ! -name copyright \( -type f -o -type l \) -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs/usr/share/man" "$rootfs/usr/share/info" "$rootfs/usr/share/lintian"
# The CA bundle libcurl reads (Debian builds it with --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt).
# ca-certificates' postinst would make it with update-ca-certificates, which concatenates the
# certificates /etc/ca-certificates.conf enables (by default every one under mozilla/); dpkg-deb -x
# runs no postinst, so concatenate them here.
find "$rootfs/usr/share/ca-certificates/mozilla" -name '*.crt' | LC_ALL=C sort |
  while read -r cert; do cat "$cert"; echo; done > "$rootfs/etc/ssl/certs/ca-certificates.crt"
# The non-root user the Deployment, the node agent and the engine init containers run as (65532,
# the uid distroless images name "nonroot"); name lookups for it and for hosts.
cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
nonroot:x:65532:
GROUP
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
mkdir -p "$rootfs/home/nonroot" "$rootfs/tmp" "$rootfs/root"
chown 65532:65532 "$rootfs/home/nonroot"
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"
# The binaries, without their DWARF debug info (about a quarter of their size); the symbol table
# stays, so a crash's backtrace still names functions.
for bin in edgeml edgeml-operator edgeml-engine; do
  strip --strip-debug -o "$context/bin/$bin" "$BIN_DIR/$bin"
done
# KubeEmulator's resource bundle (the upstream OpenAPI documents), which `edgeml validate` and
# `edgeml diff` load, beside the binaries: SwiftPM's generated `Bundle.module` looks in the
# executable's folder, then in the build folder of the machine that compiled it, and traps when
# neither exists — as the build folder does not in the image.
resources="edgeml-operator_KubeEmulator.resources"
[ -d "$BIN_DIR/$resources" ] || { echo "image: $BIN_DIR/$resources is missing (the release build of edgeml makes it)" >&2; exit 1; }
rm -rf "${context:?}/bin/$resources"
cp -R "$BIN_DIR/$resources" "$context/bin/"

# 3. The image, then an OCI archive of it.
buildah "${storage[@]}" rmi -f "$IMAGE" >/dev/null 2>&1 || true
buildah "${storage[@]}" build --isolation chroot --quiet \
  --timestamp "$CREATED_EPOCH" \
  --build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION" \
  --build-arg "SOURCE=$SOURCE" --build-arg "LICENSES=$LICENSES" \
  -f Containerfile -t "$IMAGE" "$context" >/dev/null
rm -f "$OUT/edgeml-image.oci.tar"
buildah "${storage[@]}" push --quiet "$IMAGE" "oci-archive:$OUT/edgeml-image.oci.tar:$IMAGE"
python3 - "$OUT" "$IMAGE" "$VERSION" "$REVISION" "$SOURCE" "$LICENSES" <<'PY'
import json, sys
out, image, version, revision, source, licenses = sys.argv[1:]
json.dump({"image": image, "archive": f"{out}/edgeml-image.oci.tar", "version": version, "revision": revision,
           "source": source, "licenses": licenses}, open(f"{out}/image.json", "w"), indent=2)
PY
size="$(du -sb "$rootfs" "$context/bin" | awk '{ s += $1 } END { printf "%.1f", s / 1048576 }')"
archive="$(du -b "$OUT/edgeml-image.oci.tar" | awk '{ printf "%.1f", $1 / 1048576 }')"
echo "image: $IMAGE built: $size MiB unpacked, $archive MiB as an OCI archive ($OUT/edgeml-image.oci.tar)"
