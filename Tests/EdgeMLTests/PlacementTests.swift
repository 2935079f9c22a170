import ControllerRuntime
import KubeCore
import Testing
@testable import EdgeML

/// Node labels as `edgeml node-agent` writes them (docs/edgemodel-contracts.md §1).
func jetson(_ name: String, module: String, l4t: String, trt: String, arch: String = "sm_87", dla: Int = 2, mem: Int = 15_000,
            ready: Bool = true, gpus: Int? = 1, taints: [Taint] = [], extra: [String: String] = [:]) -> JetsonNode {
  var labels = [JetsonLabels.module: module, JetsonLabels.l4t: l4t, JetsonLabels.tensorRT: trt, JetsonLabels.gpuArch: arch,
                JetsonLabels.dlaCores: String(dla), JetsonLabels.memoryMiB: String(mem), "kubernetes.io/hostname": name]
  labels.merge(extra) { _, b in b }
  return JetsonNode(name: name, labels: labels, ready: ready, taints: taints, allocatableGPUs: gpus)
}

func spec(_ yaml: JSONValue) throws -> EdgeModelSpec { try ModelCoding.decode(EdgeModelSpec.self, from: yaml) }

let baseSpec: JSONValue = [
  "model": ["uri": "https://models.example.com/detector.onnx",
            "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111", "version": "3"],
  "serving": ["image": "nvcr.io/nvidia/tritonserver:24.08-py3-igpu"],
]

let fleet: [JetsonNode] = [
  jetson("nx-1", module: "orin-nx-16gb", l4t: "36.4.3", trt: "10.3.0"),
  jetson("nx-2", module: "orin-nx-16gb", l4t: "36.4.3", trt: "10.3.0"),
  jetson("nx-3", module: "orin-nx-16gb", l4t: "36.4.3", trt: "10.3.0", ready: false),
  jetson("agx-1", module: "agx-orin-64gb", l4t: "36.4.3", trt: "10.3.0", mem: 62_000),
  jetson("nano-1", module: "orin-nano-8gb", l4t: "36.4.0", trt: "10.3.0", dla: 0, mem: 7_600),
  jetson("old-nx", module: "orin-nx-16gb", l4t: "35.4.1", trt: "8.5.2"),
  jetson("xavier", module: "xavier-nx-8gb", l4t: "35.6.0", trt: "8.5.2", arch: "sm_72", mem: 7_000),
]

@Suite struct PlacementTests {
  @Test func reasonsAreCountedNodeByNode() throws {
    var s = baseSpec
    s[path: ["placement"]] = ["jetson": ["modules": ["orin-nx-16gb"], "l4t": ">=36.2"]]
    let r = Placement.evaluate(try spec(s), nodes: fleet)
    #expect(r.eligibleCount == 2)
    #expect(r.summary == "2/7 nodes eligible: 3 module not in [orin-nx-16gb], 1 L4T 35.4.1 < 36.2, 1 NotReady")
    // The NotReady node keeps its place in the group (its pods come back to it), but does not count.
    #expect(r.groups.count == 1 && r.groups[0].nodes == ["nx-1", "nx-2", "nx-3"] && r.groups[0].readyNodes == ["nx-1", "nx-2"])
  }

  @Test func nothingFitsSaysWhyForEveryNode() throws {
    var s = baseSpec
    s[path: ["placement"]] = ["jetson": ["modules": ["agx-orin-64gb"], "minMemoryMiB": 64_000, "requireDLA": true]]
    let r = Placement.evaluate(try spec(s), nodes: fleet)
    #expect(r.eligibleCount == 0 && r.groups.isEmpty)
    #expect(r.summary == "0/7 nodes eligible: 6 module not in [agx-orin-64gb], 1 memory 62000 MiB < 64000 MiB")
  }

  @Test func selectorsTaintsGPUsAndMissingFactsAreReasons() throws {
    var s = baseSpec
    s[path: ["placement"]] = ["nodeSelector": ["site": "north"], "tolerations": [["key": "edge/remote", "operator": "Exists", "effect": "NoSchedule"]]]
    let nodes = [
      jetson("a", module: "orin-nx-16gb", l4t: "36.4.3", trt: "10.3.0", extra: ["site": "north"]),
      jetson("b", module: "orin-nx-16gb", l4t: "36.4.3", trt: "10.3.0", extra: ["site": "south"]),
      jetson("c", module: "orin-nx-16gb", l4t: "36.4.3", trt: "10.3.0", taints: [Taint(key: "edge/remote", effect: "NoSchedule")], extra: ["site": "north"]),
      jetson("d", module: "orin-nx-16gb", l4t: "36.4.3", trt: "10.3.0", taints: [Taint(key: "dedicated", value: "x", effect: "NoExecute")], extra: ["site": "north"]),
      jetson("e", module: "orin-nx-16gb", l4t: "36.4.3", trt: "10.3.0", gpus: 0, extra: ["site": "north"]),
      JetsonNode(name: "f", labels: ["site": "north"]),
      // No device plugin: the Jetson labels make it GPU-capable.
      jetson("g", module: "orin-nx-16gb", l4t: "36.4.3", trt: "10.3.0", gpus: nil, extra: ["site": "north"]),
    ]
    let r = Placement.evaluate(try spec(s), nodes: nodes)
    #expect(r.summary == "3/7 nodes eligible: 2 no GPU, 1 node selector site=north not matched, 1 untolerated taint dedicated")
    // A group whose nodes lack the device plugin does not request nvidia.com/gpu.
    #expect(r.groups.count == 1 && r.groups[0].nodes == ["a", "c", "g"] && r.groups[0].deviceplugin == false)
  }

  @Test func nodesGroupByEngineCompatibility() throws {
    let r = Placement.evaluate(try spec(baseSpec), nodes: fleet)
    let groups = Dictionary(uniqueKeysWithValues: r.groups.map { ("\($0.module)/\($0.tensorRT)", $0.nodes) })
    #expect(groups == ["orin-nx-16gb/10.3.0": ["nx-1", "nx-2", "nx-3"], "agx-orin-64gb/10.3.0": ["agx-1"],
                       "orin-nano-8gb/10.3.0": ["nano-1"], "orin-nx-16gb/8.5.2": ["old-nx"], "xavier-nx-8gb/8.5.2": ["xavier"]])
    #expect(r.groups.first { $0.module == "xavier-nx-8gb" }?.gpuArch == "sm_72")
  }

  @Test func dlaIsUsedOnlyWhereTheNodeHasIt() throws {
    var s = baseSpec
    s[path: ["engine"]] = ["dlaCore": 1, "allowGPUFallback": true]
    let r = Placement.evaluate(try spec(s), nodes: fleet)
    #expect(r.groups.first { $0.module == "orin-nano-8gb" }?.dlaCore == nil)
    #expect(r.groups.first { $0.module == "agx-orin-64gb" }?.dlaCore == 1)
    let nano = r.groups.first { $0.module == "orin-nano-8gb" }!
    let args = EnginePlan(spec: try spec(s), group: nano, modelName: "m").arguments
    #expect(!args.contains("--dla-core"))
    let agx = EnginePlan(spec: try spec(s), group: r.groups.first { $0.module == "agx-orin-64gb" }!, modelName: "m").arguments
    #expect(agx.contains("--dla-core") && agx.contains("--allow-gpu-fallback"))
  }

  @Test func versionRanges() {
    #expect(VersionRange(">=36.2")!.failingClause(DottedVersion("36.4.3")!) == nil)
    #expect(VersionRange(">=36.2")!.failingClause(DottedVersion("35.4.1")!) == "35.4.1 < 36.2")
    #expect(VersionRange(">=35.4, <36")!.failingClause(DottedVersion("36.4.0")!) == "36.4.0 >= 36")
    #expect(VersionRange("36.4")!.failingClause(DottedVersion("36.4.0")!) == nil)
    #expect(VersionRange("36.x") == nil)
  }
}

@Suite struct EngineKeyTests {
  func group(_ module: String = "orin-nx-16gb", trt: String = "10.3.0", arch: String = "sm_87") -> Placement.NodeGroup {
    Placement.NodeGroup(module: module, tensorRT: trt, gpuArch: arch, dlaCore: nil, nodes: ["n"], readyNodes: ["n"], l4t: "36.4.3", l4ts: ["36.4.3"], deviceplugin: true)
  }

  @Test("keys are lower-case hex of SHA-256, two digits a byte (FIPS 180-2's test vector for \"abc\")")
  func hexOfTheDigest() {
    #expect(sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(String(lowerHex: [0x00, 0x0f, 0xa0, 0xff] as [UInt8]) == "000fa0ff")
    #expect(String(lowerHex: [] as [UInt8]) == "")
    #expect(group().slug.hasPrefix("orin-nx-16gb-") && group().slug.count == "orin-nx-16gb-".count + 8)
  }

  @Test func keyIsStableAndIgnoresWhatDoesNotChangeTheEngine() throws {
    let a = EnginePlan(spec: try spec(baseSpec), group: group(), modelName: "m")
    #expect(a.key == EnginePlan(spec: try spec(baseSpec), group: group(), modelName: "m").key)
    // Pinned: the recipe must not drift silently (a changed key rebuilds every engine in the fleet).
    #expect(a.key == "sha256:" + sha256Hex("""
      recipe=edgeml.io/engine-key/v1
      model=sha256:1111111111111111111111111111111111111111111111111111111111111111
      format=onnx
      precision=fp16
      calibration=
      dlaCore=none
      gpuFallback=n/a
      workspaceMiB=1024
      shapes=;;
      tensorrt=10.3.0
      gpuArch=sm_87
      module=orin-nx-16gb
      """))
    var other = baseSpec
    other[path: ["serving", "image"]] = "nvcr.io/nvidia/tritonserver:24.09-py3-igpu"
    other[path: ["placement"]] = ["replicas": 5]
    #expect(EnginePlan(spec: try spec(other), group: group(), modelName: "m").key == a.key)
  }

  @Test func everyInputOfTheEngineChangesTheKey() throws {
    let base = EnginePlan(spec: try spec(baseSpec), group: group(), modelName: "m").key
    var keys: Set<String> = [base]
    for (path, value) in [(["model", "digest"], JSONValue("sha256:2222222222222222222222222222222222222222222222222222222222222222")),
                          (["engine", "precision"], "fp32"), (["engine", "workspaceMiB"], 2048),
                          (["engine", "shapes"], ["min": "images:1x3x640x640", "opt": "images:1x3x640x640", "max": "images:4x3x640x640"])] {
      var s = baseSpec
      s[path: path] = value
      keys.insert(EnginePlan(spec: try spec(s), group: group(), modelName: "m").key)
    }
    keys.insert(EnginePlan(spec: try spec(baseSpec), group: group(trt: "8.6.2"), modelName: "m").key)
    keys.insert(EnginePlan(spec: try spec(baseSpec), group: group("agx-orin-64gb"), modelName: "m").key)
    keys.insert(EnginePlan(spec: try spec(baseSpec), group: group("xavier-nx-8gb", trt: "10.3.0", arch: "sm_72"), modelName: "m").key)
    #expect(keys.count == 8)
  }

  @Test func argumentsFollowTheContract() throws {
    var s = baseSpec
    s[path: ["engine"]] = ["precision": "int8", "calibration": ["uri": "s3://b/calib.cache", "digest": .string("sha256:" + String(repeating: "a", count: 64))],
                           "workspaceMiB": 2048, "shapes": ["min": "images:1x3x640x640", "opt": "images:1x3x640x640", "max": "images:1x3x640x640"]]
    s[path: ["model", "signature"]] = ["publicKeySecretRef": ["name": "keys", "key": "ed25519.pub"], "uri": "https://models.example.com/detector.onnx.sig"]
    let plan = EnginePlan(spec: try spec(s), group: group(), modelName: "det")
    let a = plan.arguments
    func value(_ flag: String) -> String? { a.firstIndex(of: flag).map { a[$0 + 1] } }
    #expect(a.first == "--model-uri")   // edgeml-engine's flags, no subcommand
    #expect(value("--precision") == "int8" && value("--calibration-uri") == "s3://b/calib.cache")
    #expect(value("--public-key-file") == "/etc/edgeml/keys/signature/ed25519.pub")
    #expect(value("--workspace-mib") == "2048" && value("--max-shapes") == "images:1x3x640x640")
    #expect(value("--key") == plan.key && value("--model-version") == "3" && value("--layout") == "triton")
    #expect(value("--termination-log") == "/dev/termination-log" && value("--cache-dir") == "/var/lib/edgeml/engines")
  }

  @Test("a model's sizeLimit reaches the engine in bytes, and an unset one adds no flag (no pod template changes on upgrade)",
        arguments: [(JSONValue?.none, String?.none), ("512Mi", "536870912"), ("8Gi", "8589934592"), (1000, "1000"), ("1.5k", "1500")])
  func sizeLimitReachesTheEngine(limit: JSONValue?, bytes: String?) throws {
    var s = baseSpec
    if let limit { s[path: ["model", "sizeLimit"]] = limit }
    let a = EnginePlan(spec: try spec(s), group: group(), modelName: "det").arguments
    #expect(a.firstIndex(of: "--max-fetch-bytes").map { a[$0 + 1] } == bytes)
  }
}

/// The reconciler remembers placements while the nodes stay the same; a changed node must be seen
/// at once, and models with different placement specs must not share a result.
@Test func rememberedPlacementFollowsNodeChangesAndSpecs() async throws {
  func node(_ name: String, module: String, rv: String) -> JSONValue {
    ["metadata": ["name": .string(name), "resourceVersion": .string(rv),
                  "labels": [.init(JetsonLabels.module): .string(module), .init(JetsonLabels.l4t): "36.4.3",
                             .init(JetsonLabels.tensorRT): "10.3.0", .init(JetsonLabels.gpuArch): "sm_87"]],
     "status": ["conditions": [["type": "Ready", "status": "True"]], "allocatable": ["nvidia.com/gpu": "1"]]]
  }
  let store = Store()
  await store.replace([node("a", module: "orin-nx-16gb", rv: "1"), node("b", module: "orin-nano-8gb", rv: "1")], resourceVersion: "1")
  let views = NodeViews()
  var s = baseSpec
  s[path: ["placement"]] = ["jetson": ["modules": ["orin-nx-16gb"]]]
  let nx = try spec(s)
  s[path: ["placement"]] = ["jetson": ["modules": ["orin-nano-8gb"]]]
  let nano = try spec(s)
  var (_, r) = await views.placement(of: nx, nodes: store)
  #expect(r.groups.map(\.nodes) == [["a"]])
  (_, r) = await views.placement(of: nano, nodes: store)
  #expect(r.groups.map(\.nodes) == [["b"]])
  // Node b is relabelled an Orin NX: the next placement of the NX model includes it.
  await store.apply(type: "MODIFIED", object: node("b", module: "orin-nx-16gb", rv: "2"))
  (_, r) = await views.placement(of: nx, nodes: store)
  #expect(r.groups.map(\.nodes) == [["a", "b"]])
  (_, r) = await views.placement(of: nano, nodes: store)
  #expect(r.groups.isEmpty && r.summary == "0/2 nodes eligible: 2 module not in [orin-nano-8gb]")
  // A deleted node leaves the placement.
  await store.apply(type: "DELETED", object: node("a", module: "orin-nx-16gb", rv: "3"))
  (_, r) = await views.placement(of: nx, nodes: store)
  #expect(r.groups.map(\.nodes) == [["b"]] && r.total == 1)
}
