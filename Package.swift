// swift-tools-version:6.1
import PackageDescription

// Layering (shared/DESIGN.md §1): KubeCore and DriftStatistics import nothing of ours; YAML sits on
// CYAML + KubeCore; CEL on KubeCore alone; KubeEmulator on CEL + KubeCore + YAML and never on a client
// or the domain.
let package = Package(
  name: "edgeml-operator",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "edgeml", targets: ["edgeml"]),
    // The operator alone (what the Deployment runs): no emulator, EdgeSim or full Foundation linked.
    .executable(name: "edgeml-operator", targets: ["edgeml-operator"]),
    // The engine init container alone (what EdgeModel pods run): the engine builder and nothing else.
    .executable(name: "edgeml-engine", targets: ["edgeml-engine"]),
    .executable(name: "trtexec-double", targets: ["trtexec-double"]),
    // The kubectl plugin (`kubectl edgeml promote|abort|pause|resume|retry|status`).
    .executable(name: "kubectl-edgeml", targets: ["kubectl-edgeml"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
    .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
    .package(url: "https://github.com/apple/swift-certificates", from: "1.10.0"),
    .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    .package(url: "https://github.com/apple/swift-metrics", from: "2.4.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
  ],
  targets: [
    .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
    // libcurl's headers (libcurl4-openssl-dev) at build time; libcurl.so.4 itself is dlopen'ed on first use.
    .target(name: "CCurl", linkerSettings: [.linkedLibrary("dl")]),
    // POSIX calls Swift cannot make (variadic prctl, a _GNU_SOURCE declaration): KubeClient's thread and exec plugin.
    .systemLibrary(name: "CKubeClientShims"),
    .target(name: "KubeCore"),
    .target(name: "YAML", dependencies: ["CYAML", "KubeCore"]),
    .target(name: "DriftStatistics"),
    // The CEL language (lexer, parser, checker, evaluator, cost estimator) over KubeCore's JSONValue:
    // the emulator's CRD validation rules and the Rollout's analysis conditions both evaluate with it.
    .target(name: "CEL", dependencies: ["KubeCore"]),
    // What several targets must agree on: the edgeml.io/ labels and annotations, the engine's result
    // document and its failure reasons (docs/edgemodel-contracts.md).
    .target(name: "EdgeMLVocabulary", dependencies: ["KubeCore"]),
    // EdgeML, KubeClient, ControllerRuntime and OperatorCLI import FoundationEssentials only, so the
    // edgeml-operator product maps neither libFoundation nor ICU.
    .target(name: "EdgeML", dependencies: ["CEL", "KubeCore", "KubeClient", "ControllerRuntime", "DriftStatistics", "EdgeMLVocabulary",
                                          .product(name: "Metrics", package: "swift-metrics"),
                                          .product(name: "Crypto", package: "swift-crypto")]),
    .target(name: "KubeClient", dependencies: ["CCurl", "CKubeClientShims", "KubeCore", "YAML"]),
    .target(
      name: "ControllerRuntime",
      dependencies: ["KubeClient", "KubeCore", .product(name: "DequeModule", package: "swift-collections"),
                     .product(name: "HeapModule", package: "swift-collections"), .product(name: "Crypto", package: "swift-crypto"),
                     .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
                     .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                     .product(name: "NIOHTTP1", package: "swift-nio"),
                     // The metrics endpoint's HTTPS and its self-signed certificate (Metrics/).
                     .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "X509", package: "swift-certificates")]
    ),
    .target(
      name: "KubeEmulator",
      dependencies: [
        "CEL", "KubeCore", "YAML",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOWebSocket", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "DequeModule", package: "swift-collections"),
      ],
      resources: [.copy("Resources")]
    ),
    // The init-container program's library: fetch, verify, decrypt, build with trtexec, cache.
    .target(
      name: "EngineBuilder",
      dependencies: ["KubeCore", "KubeClient", "CKubeClientShims", "EdgeMLVocabulary", .product(name: "Crypto", package: "swift-crypto"),
                     .product(name: "Logging", package: "swift-log")]
    ),
    // Jetson discovery (node labels) and telemetry from sysfs/procfs.
    .target(
      name: "NodeAgent",
      // EngineBuilder for the engine cache's layout and locks, which the agent keeps within a budget.
      dependencies: ["KubeCore", "KubeClient", "EdgeMLVocabulary", "EngineBuilder", .product(name: "Logging", package: "swift-log")],
      resources: [.copy("Fixtures")]
    ),
    // The drift agent sidecar (`edgeml drift-agent`): per-window feature summaries on the device,
    // served over HTTP (docs/drift-agent.md).
    .target(
      name: "DriftAgent",
      dependencies: ["DriftStatistics", "KubeCore", .product(name: "DequeModule", package: "swift-collections"),
                     .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                     .product(name: "NIOHTTP1", package: "swift-nio")]
    ),
    // A simulated Jetson cluster on the emulator: nodes, scheduler, kubelet, workload controllers.
    .target(
      name: "EdgeSim",
      dependencies: ["KubeEmulator", "KubeCore", .product(name: "Logging", package: "swift-log"),
                     .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                     .product(name: "NIOHTTP1", package: "swift-nio")]
    ),
    // `edgeml validate` and `edgeml diff`: manifests checked offline by the emulator's write path
    // against the CRDs compiled in (scripts/embed-crds.py), and the planners' desired objects for
    // them, offline or against a live cluster read with KubeClient. Like the `edgeml` executable it
    // may import both the emulator and the domain.
    .target(name: "ManifestTools", dependencies: ["KubeCore", "YAML", "KubeEmulator", "EdgeML", "EdgeMLVocabulary", "ControllerRuntime",
                                                  "KubeClient"]),
    // The operator's command line (flags, run, JSON logs), shared by `edgeml operator` and `edgeml-operator`.
    .target(
      name: "OperatorCLI",
      dependencies: ["EdgeML", "KubeClient", "KubeCore", "ControllerRuntime",
                     .product(name: "ArgumentParser", package: "swift-argument-parser"),
                     .product(name: "Logging", package: "swift-log"),
                     .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                     .product(name: "Metrics", package: "swift-metrics"),
                     .product(name: "Prometheus", package: "swift-prometheus")]
    ),
    // The init container's command line, shared by `edgeml engine` and `edgeml-engine` (parsed
    // without ArgumentParser: it is read at every pod start, see EngineOptions).
    .target(
      name: "EngineCLI",
      dependencies: ["EngineBuilder", .product(name: "Logging", package: "swift-log")]
    ),
    // Like edgeml-operator: only what the init container runs is linked. It starts once per pod, so
    // it is linked as a fixed-address executable (Go's default build mode too): a position-independent
    // one makes the loader apply some 80,000 relocations and copy the pages they touch at every start
    // (about 0.4 ms of the 4 ms a cached-engine run takes; README, EdgeModel benchmark).
    .executableTarget(
      name: "edgeml-engine",
      dependencies: ["EngineCLI"],
      linkerSettings: [.unsafeFlags(["-Xclang-linker", "-no-pie"], .when(platforms: [.linux]))]
    ),
    // Must never depend, even indirectly, on KubeEmulator, EdgeSim, EngineBuilder or NodeAgent: SwiftPM
    // links every object of every target an executable depends on.
    .executableTarget(
      name: "edgeml-operator",
      dependencies: ["OperatorCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")]
    ),
    // Stands in for /usr/src/tensorrt/bin/trtexec in tests and EdgeSim (docs/edgemodel-contracts.md §3).
    .executableTarget(name: "trtexec-double", dependencies: []),
    .executableTarget(
      name: "kubectl-edgeml",
      dependencies: ["EdgeML", "KubeClient", "KubeCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
    ),
    .executableTarget(
      name: "edgeml",
      dependencies: [
        "KubeCore", "YAML", "KubeEmulator", "DriftStatistics", "EdgeML", "EdgeMLVocabulary", "KubeClient", "ControllerRuntime",
        "EngineBuilder", "EngineCLI", "NodeAgent", "EdgeSim", "OperatorCLI", "DriftAgent", "ManifestTools",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
      ]
    ),
    // What the real-server tests share: finding the programs setup.sh installs, free ports, and
    // servers started in a process group of their own (MLflow, moto, a registry). Test targets only.
    .target(name: "TestServers", dependencies: ["KubeClient"], path: "Tests/TestServers"),
    .testTarget(name: "KubeCoreTests", dependencies: ["KubeCore"]),
    .testTarget(name: "YAMLTests", dependencies: ["YAML", "KubeCore"]),
    .testTarget(name: "DriftStatisticsTests", dependencies: ["DriftStatistics"], resources: [.copy("Fixtures")]),
    // KubeEmulator only for the fuzz test's seeded generator (SplitMix64, FaultInjector.swift).
    .testTarget(name: "CELTests", dependencies: ["CEL", "KubeCore", "KubeEmulator"]),
    .testTarget(name: "KubeEmulatorTests", dependencies: ["KubeEmulator", "CEL", "KubeCore", "YAML"]),
    // TestServers for the real `mlflow server` an EdgeModel follows an alias in; Prometheus for the
    // operator's object series as its /metrics renders them; Crypto for the sha256 of the model
    // files registered there.
    .testTarget(name: "EdgeMLTests", dependencies: ["EdgeML", "EdgeMLVocabulary", "KubeCore", "YAML", "KubeClient", "KubeEmulator",
                                                    "TestServers", .product(name: "Prometheus", package: "swift-prometheus"),
                                                    .product(name: "Crypto", package: "swift-crypto")]),
    .testTarget(name: "KubeClientTests", dependencies: ["KubeClient", "KubeCore", "KubeEmulator"]),
    // Builds run the trtexec-double and edgeml binaries; https:// fetches go to a NIOSSL server with a
    // certificate from KubeEmulator's CertificateAuthority.
    .testTarget(
      name: "EngineBuilderTests",
      dependencies: ["EngineBuilder", "EdgeMLVocabulary", "KubeCore", "KubeClient", "KubeEmulator", "TestServers",
                     .product(name: "Crypto", package: "swift-crypto"),
                     .product(name: "Logging", package: "swift-log"),
                     .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                     .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl")],
      exclude: ["Fetch/fetch_fixtures.py"]
    ),
    .testTarget(name: "NodeAgentTests", dependencies: ["NodeAgent", "EngineBuilder", "EdgeMLVocabulary", "KubeCore", "KubeClient", "KubeEmulator"]),
    .testTarget(name: "DriftAgentTests", dependencies: ["DriftAgent", "DriftStatistics"]),
    .testTarget(name: "EdgeSimTests", dependencies: ["EdgeSim", "KubeEmulator", "KubeCore", "KubeClient", "YAML", "DriftStatistics"]),
    .testTarget(name: "OperatorCLITests", dependencies: ["OperatorCLI", "KubeCore",
                                                         .product(name: "ArgumentParser", package: "swift-argument-parser"),
                                                         .product(name: "Logging", package: "swift-log")]),
    .testTarget(name: "ManifestToolsTests", dependencies: ["ManifestTools", "KubeCore", "YAML", "KubeEmulator", "KubeClient", "EdgeML"]),
    .testTarget(name: "ControllerRuntimeTests", dependencies: ["ControllerRuntime", "KubeClient", "KubeCore", "KubeEmulator"]),
  ],
  swiftLanguageModes: [.v6]
)
