#!/usr/bin/env bash
# Installs what `make image` needs beyond scripts/setup.sh: buildah (builds the image without a
# daemon) and skopeo (inspects, pushes and pulls it). Kept out of scripts/setup.sh so `make build`
# and `make demo` do not install container tooling; `make test` runs it because the image's tests
# are part of the suite. The tests' registry, docker-registry, is already in scripts/setup.sh.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
need_apt=()
command -v buildah >/dev/null 2>&1 || need_apt+=(buildah)
command -v skopeo >/dev/null 2>&1 || need_apt+=(skopeo)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
