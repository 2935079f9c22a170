#!/usr/bin/env bash
# The CI pipeline's stages, one command each. The GitHub Actions workflow, the GitLab CI file and
# the Jenkinsfile beside this script all call it, so the three run the same commands and keep only
# their own wiring (triggers, runners, caches, artifacts, secrets); acceptance/test_ci_examples.py
# runs these commands too. Read docs/ci.md first.
#
#   pipeline.sh validate        edgeml validate the manifests of $MANIFESTS
#   pipeline.sh build           the release image (make image) and the engine builder's tools copy,
#                               for the architecture of the machine it runs on
#   pipeline.sh engine-report   build the model's TensorRT engine with the acceptance gates and
#                               keep the result documents and a report of them
#   pipeline.sh gitops-update   set the new model version in a GitOps repository, commit and push
#
# Run from anywhere: it works in the checkout it belongs to. Outputs go to $CI_OUT (default
# ci-out/ in the checkout), one folder per stage. Each stage's settings are environment variables,
# listed with the stage below; a missing required one stops the stage with its name.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../.."
CI_OUT="${CI_OUT:-$PWD/ci-out}"
mkdir -p "$CI_OUT"
CI_OUT="$(cd "$CI_OUT" && pwd)"

fail() { echo "pipeline: $*" >&2; exit 2; }
# Scratch space of this run (engine caches, the GitOps checkout), removed however the stage ends.
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Installs Debian packages that are missing, when this is a Debian machine we may install on (the CI
# jobs' swift:…-bookworm containers run as root); elsewhere a missing package is left for the
# command that needs it to report.
need_debs() {
  local missing=() package
  command -v dpkg >/dev/null 2>&1 || return 0
  for package in "$@"; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "pipeline: installing ${missing[*]}" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
}

# The `edgeml` to run: $EDGEML, else one on PATH, else the release build `make image` makes too
# (Makefile's RELEASE: the same command and scratch folder, so a cache of .build-static serves both).
edgeml_bin() {
  need_debs libyaml-0-2   # the one library the static binaries load that a bare Debian lacks
  if [ -n "${EDGEML:-}" ]; then echo "$EDGEML"; return; fi
  if command -v edgeml >/dev/null 2>&1; then command -v edgeml; return; fi
  need_debs libcurl4-openssl-dev libyaml-dev
  swift build -c release --static-swift-stdlib --scratch-path .build-static --product edgeml >&2
  echo "$PWD/.build-static/release/edgeml"
}

# Whether this is a pull (merge) request's pipeline, in any of the three CI systems: such a run
# never pushes (its code is not reviewed yet, and forks must not reach the GitOps token).
is_change_request() {
  case "${GITHUB_EVENT_NAME:-}" in pull_request|pull_request_target) return 0 ;; esac
  [ -n "${CI_MERGE_REQUEST_IID:-}" ] && return 0   # GitLab: predefined in merge request pipelines
  [ -n "${CHANGE_ID:-}" ] && return 0              # Jenkins multibranch: set for change requests
  return 1
}

# --- validate ---------------------------------------------------------------------------------
# MANIFESTS        files and folders to check (space-separated; folders are not recursed), default
#                  the examples and the GitOps layout's base and site overlays
# VALIDATE_FORMAT  text | json | github (default github inside GitHub Actions, else text)
# EDGEML           the edgeml binary (see edgeml_bin)
# Exit status: edgeml validate's (0 valid, 1 an object would be refused, 2 input it cannot check).
stage_validate() {
  local edgeml format paths
  edgeml="$(edgeml_bin)"
  read -r -a paths <<< "${MANIFESTS:-examples examples/gitops/base examples/gitops/sites/site-a}"
  [ ${#paths[@]} -gt 0 ] || fail "MANIFESTS names nothing to validate"
  format="${VALIDATE_FORMAT:-text}"
  if [ -z "${VALIDATE_FORMAT:-}" ] && [ "${GITHUB_ACTIONS:-}" = true ]; then format=github; fi
  "$edgeml" validate --format "$format" "${paths[@]}"
}

# --- build --------------------------------------------------------------------------------------
# IMAGE        the image name (default: make image-name's)
# REUSE_IMAGE  1: keep the image in .build-image/ when it was built from this very commit (a cache)
# Leaves in $CI_OUT/build: edgeml-image-linux-ARCH.oci.tar (what `skopeo copy oci-archive:…` pushes),
# edgeml-engine-linux-ARCH.tar.gz (the engine builder's tools copy, below), SHA256SUMS-ARCH, and
# image-linux-ARCH.digest (the manifest digest a registry will report for the image).
#
# ARCH is this machine's: the binaries load Debian's glibc libcurl, so they are built natively, not
# cross-compiled (docs/release-image.md, "arm64, for the Jetson nodes") — run this stage on an arm64
# runner for the Jetsons. The tools copy is what an engine init container runs inside NVIDIA's
# L4T JetPack image (`edgeml-engine --install-to`, docs/engine-builds.md): the program, its own
# loader and every library it loads, so it runs on any Jetson whatever its Ubuntu's glibc.
stage_build() {
  local arch out image_json revision tools engine
  arch="$(dpkg --print-architecture 2>/dev/null || uname -m)"
  out="$CI_OUT/build"
  image_json=.build-image/image.json
  revision="$(git rev-parse HEAD)"
  if [ "${REUSE_IMAGE:-0}" = 1 ] && [ -f "$image_json" ] && [ ! -f .build-image/skipped ] &&
     python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["revision"] != sys.argv[2])' "$image_json" "$revision" &&
     [ -z "$(git status --porcelain --untracked-files=no)" ]; then
    echo "pipeline: reusing the image of .build-image/, built from $revision"
  else
    make image ${IMAGE:+IMAGE="$IMAGE"}
  fi
  rm -rf "$out"
  mkdir -p "$out"
  cp .build-image/edgeml-image.oci.tar "$out/edgeml-image-linux-$arch.oci.tar"
  skopeo inspect --format '{{.Digest}}' "oci-archive:$out/edgeml-image-linux-$arch.oci.tar" > "$out/image-linux-$arch.digest"
  # The image's own copy of the program (debug info stripped) when the build left it, else the release build's.
  engine=.build-image/context/bin/edgeml-engine
  [ -x "$engine" ] || engine=.build-static/release/edgeml-engine
  tools="edgeml-engine-linux-$arch"
  "$engine" --install-to "$out/$tools"
  tar -C "$out" -czf "$out/$tools.tar.gz" "$tools"
  rm -rf "${out:?}/$tools"
  (cd "$out" && sha256sum "edgeml-image-linux-$arch.oci.tar" "$tools.tar.gz" > "SHA256SUMS-$arch")
  echo "pipeline: built linux/$arch: image $(cat "$out/image-linux-$arch.digest"), $tools.tar.gz"
}

# --- engine-report --------------------------------------------------------------------------------
# MODEL_URI           the model (file://, https://, s3://, oci://, mlflow://), required
# MODEL_DIGEST        sha256:HEX; computed for a file:// model when unset
# MODEL_NAME          default detector;  MODEL_VERSION  default 1
# ENGINE_PRECISIONS   space-separated, default fp16: one engine (and one result) each
# CALIBRATION_URI, CALIBRATION_DIGEST  the INT8 calibration cache, for int8 and best (as the
#                     EdgeModel's spec.engine.calibration; without it trtexec uses dummy ranges)
# MAX_LATENCY_MS, MIN_THROUGHPUT_QPS   the acceptance gates (at least one: without a gate trtexec
#                     does not time the engine), as an EdgeModel's spec.engine.acceptance
# TRTEXEC             default /usr/src/tensorrt/bin/trtexec (JetPack's path)
# ENGINE_TOOLS        a tools copy from the build stage (unpacked), run through its own loader;
#                     else ENGINE, the command (default: "$EDGEML engine")
# Leaves in $CI_OUT/engine-report: results/PRECISION.json (the engine's result documents, as a pod's
# termination message holds them), logs/PRECISION.log, report.md, report.json and junit.xml.
# Exit status 1 when an engine failed its build or its gate; the report says which and why.
stage_engine_report() {
  : "${MODEL_URI:?MODEL_URI: the model to build an engine of}"
  command -v python3 >/dev/null 2>&1 || need_debs python3
  command -v python3 >/dev/null 2>&1 || fail "engine-report needs python3 for the report"
  local out digest precision key status device engine=() gates=() extra=() precisions=() calibration=()
  out="$CI_OUT/engine-report"
  digest="${MODEL_DIGEST:-}"
  if [ -z "$digest" ] && [[ "$MODEL_URI" == file://* ]]; then
    [ -f "${MODEL_URI#file://}" ] || fail "no model file at ${MODEL_URI#file://}"
    digest="sha256:$(sha256sum "${MODEL_URI#file://}" | cut -d' ' -f1)"
  fi
  [ -n "${MAX_LATENCY_MS:-}" ] && gates+=(--max-latency-ms "$MAX_LATENCY_MS")
  [ -n "${MIN_THROUGHPUT_QPS:-}" ] && gates+=(--min-throughput-qps "$MIN_THROUGHPUT_QPS")
  [ ${#gates[@]} -gt 0 ] || fail "set MAX_LATENCY_MS and/or MIN_THROUGHPUT_QPS: without a gate trtexec does not time the engine"
  if [ -n "${ENGINE_TOOLS:-}" ]; then
    engine=("$ENGINE_TOOLS/ld.so" --library-path "$ENGINE_TOOLS/lib" "$ENGINE_TOOLS/edgeml-engine")
    extra=(--ca-file "$ENGINE_TOOLS/ca-certificates.crt")
  else
    read -r -a engine <<< "${ENGINE:-$(edgeml_bin) engine}"
  fi
  [ -n "$digest" ] && extra+=(--model-digest "$digest")
  read -r -a precisions <<< "${ENGINE_PRECISIONS:-fp16}"
  [ ${#precisions[@]} -gt 0 ] || fail "ENGINE_PRECISIONS names no precision"
  # A Jetson names its module in the device tree (what the node agent reads, docs/edgemodel-contracts.md).
  device="${DEVICE:-}"
  if [ -z "$device" ] && [ -r /proc/device-tree/model ]; then device="$(tr -d '\0' < /proc/device-tree/model)"; fi
  device="${device:-$(uname -m)}"
  rm -rf "$out"
  mkdir -p "$out/results" "$out/logs"
  # A fresh cache: the engine is built and timed here, never taken from an earlier run.
  for precision in "${precisions[@]}"; do
    key="sha256:$(printf '%s\n' "$MODEL_URI" "$digest" "$precision" | sha256sum | cut -d' ' -f1)"
    calibration=()
    if [ -n "${CALIBRATION_URI:-}" ] && { [ "$precision" = int8 ] || [ "$precision" = best ]; }; then
      calibration=(--calibration-uri "$CALIBRATION_URI" --calibration-digest "${CALIBRATION_DIGEST:-}")
    fi
    status=0
    "${engine[@]}" --model-uri "$MODEL_URI" --precision "$precision" --key "$key" \
      --cache-dir "$WORK/cache-$precision" --output-dir "$WORK/out-$precision" \
      --model-name "${MODEL_NAME:-detector}" --model-version "${MODEL_VERSION:-1}" --layout plain \
      --trtexec "${TRTEXEC:-/usr/src/tensorrt/bin/trtexec}" --termination-log "$out/results/$precision.json" \
      "${gates[@]}" "${extra[@]}" "${calibration[@]}" > "$out/logs/$precision.log" 2>&1 || status=$?
    echo "pipeline: engine $precision: exit status $status (log: $out/logs/$precision.log)"
  done
  python3 "$here/engine-report.py" --out "$out" --model-name "${MODEL_NAME:-detector}" \
    --model-version "${MODEL_VERSION:-1}" --model-uri "$MODEL_URI" --device "$device" \
    ${MAX_LATENCY_MS:+--max-latency-ms "$MAX_LATENCY_MS"} ${MIN_THROUGHPUT_QPS:+--min-throughput-qps "$MIN_THROUGHPUT_QPS"} \
    "${precisions[@]}"
}

# --- gitops-update ------------------------------------------------------------------------------
# GITOPS_REPO     URL (or path) of the GitOps repository, required
# GITOPS_BRANCH   default main;  GITOPS_PATH  the layout's folder in it, default examples/gitops
# GITOPS_FILE     the EdgeModel's file under GITOPS_PATH, default base/detector.yaml (every site's
#                 version lives in base/, docs/many-sites.md)
# MODEL_NAME      the EdgeModel's metadata.name, default detector
# MODEL_VERSION, MODEL_URI (required), MODEL_DIGEST (sha256:HEX; leave unset for oci:// and
#                 mlflow:// models, whose registry pins it)
# GITOPS_TOKEN    from the CI's secrets, for an https:// repository; GITOPS_USER its user name
#                 (default x-access-token). Given to git by a credential helper, never on a
#                 command line or in a URL, so it is in no log and in no .git/config.
# GIT_AUTHOR_NAME, GIT_AUTHOR_EMAIL   default edgeml-ci, edgeml-ci@localhost
# CI_RUN_URL      a link to this run, written in the commit message
# The edited file is validated before it is committed. Nothing is pushed in a pull (merge)
# request's pipeline or with DRY_RUN=1: the change is shown instead. A version already in place
# makes no commit.
stage_gitops_update() {
  : "${GITOPS_REPO:?GITOPS_REPO: the GitOps repository to update}"
  : "${MODEL_VERSION:?MODEL_VERSION: the model version to deploy}" "${MODEL_URI:?MODEL_URI: the new model}"
  command -v python3 >/dev/null 2>&1 || need_debs python3
  command -v python3 >/dev/null 2>&1 || fail "gitops-update needs python3 to edit the manifest"
  local branch file checkout edgeml name attempt message
  branch="${GITOPS_BRANCH:-main}"
  name="${MODEL_NAME:-detector}"
  file="${GITOPS_PATH:-examples/gitops}/${GITOPS_FILE:-base/detector.yaml}"
  edgeml="$(edgeml_bin)"
  checkout="$WORK/gitops"
  export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-edgeml-ci}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-edgeml-ci@localhost}"
  export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME}" GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}"
  gitops_git clone --quiet --branch "$branch" "$GITOPS_REPO" "$checkout"
  [ -f "$checkout/$file" ] || fail "$file is not in $GITOPS_REPO@$branch (GITOPS_PATH, GITOPS_FILE)"
  python3 "$here/bump-model.py" "$checkout/$file" --name "$name" --version "$MODEL_VERSION" \
    --uri "$MODEL_URI" ${MODEL_DIGEST:+--digest "$MODEL_DIGEST"}
  if git -C "$checkout" diff --quiet; then
    echo "pipeline: $file already deploys $name version $MODEL_VERSION: nothing to commit"
    return 0
  fi
  "$edgeml" validate "$checkout/$file"
  git -C "$checkout" --no-pager diff
  if is_change_request || [ "${DRY_RUN:-0}" = 1 ]; then
    echo "pipeline: not pushing from a pull request's pipeline (or DRY_RUN=1): the change above is what a push would commit"
    return 0
  fi
  message="$name: model version $MODEL_VERSION"$'\n\n'"uri: $MODEL_URI${MODEL_DIGEST:+$'\n'digest: $MODEL_DIGEST}${CI_RUN_URL:+$'\n'from: $CI_RUN_URL}"
  git -C "$checkout" commit --quiet -m "$message" -- "$file"
  # Someone may push between our clone and our push: rebase onto theirs and try again (a version
  # bump touches three lines, so a conflict means a person changed the same model meanwhile).
  for attempt in 1 2 3; do
    if gitops_git -C "$checkout" push --quiet origin "HEAD:$branch"; then
      echo "pipeline: pushed $(git -C "$checkout" rev-parse --short HEAD) to $GITOPS_REPO@$branch: $name version $MODEL_VERSION"
      return 0
    fi
    echo "pipeline: push refused (attempt $attempt): rebasing onto $branch" >&2
    gitops_git -C "$checkout" pull --quiet --rebase origin "$branch"
  done
  fail "could not push to $GITOPS_REPO@$branch after 3 attempts"
}

# git with the GitOps token, when there is one, from a credential helper that reads it from the
# environment at the moment git asks (git-credential(7): a helper answers `get` with
# username=/password= lines). The empty helper first drops any helper the machine configured.
gitops_git() {
  if [ -n "${GITOPS_TOKEN:-}" ]; then
    # shellcheck disable=SC2016 # expanded by the helper's shell, not here
    git -c credential.helper= -c credential.helper='!f() { test "$1" = get || return 0; echo "username=${GITOPS_USER:-x-access-token}"; echo "password=${GITOPS_TOKEN}"; }; f' "$@"
  else
    git "$@"
  fi
}

case "${1:-}" in
  validate) stage_validate ;;
  build) stage_build ;;
  engine-report) stage_engine_report ;;
  gitops-update) stage_gitops_update ;;
  *) echo "usage: $0 validate|build|engine-report|gitops-update (docs/ci.md)" >&2; exit 2 ;;
esac
