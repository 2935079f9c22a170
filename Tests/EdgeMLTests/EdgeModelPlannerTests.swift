import ControllerRuntime
import KubeClient
import KubeCore
import Testing
@testable import EdgeML

@Suite struct EdgeModelPlannerTests {
  func model(_ specJSON: JSONValue = baseSpec, status: JSONValue? = nil, generation: Int = 1) throws -> EdgeModel {
    var o: JSONValue = ["apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel",
                        "metadata": ["name": "detector", "namespace": "vision", "uid": "uid-1", "generation": JSONValue(generation)],
                        "spec": specJSON]
    if let status { o["status"] = status }
    return try EdgeModel(json: o)
  }

  /// Plans from pods as the operator caches them (its pod cache transform applied).
  func plan(_ m: EdgeModel, nodes: [JetsonNode] = fleet, pods: [JSONValue] = []) -> EdgeModelPlanner.Plan {
    let cached = pods.map(OperatorAssembly.cacheTransform(for: .pods))
    return EdgeModelPlanner.plan(.init(model: m, nodes: nodes, pods: cached, builderImage: "ghcr.io/edgeml/edgeml:0.1.0",
                                       now: "2026-11-25T12:00:00Z"))
  }

  /// A pod of `workload` as the kubelet reports it: engine init container done with `result`.
  func pod(_ p: EdgeModelPlanner.Plan, group: String, name: String, exitCode: Int? = 0, result: String?, ready: Bool, restarting: Bool = false) -> JSONValue {
    let workload = p.objects.map(\.object).first { $0[path: ["metadata", "labels", EdgeModelPlanner.Labels.nodeGroup]]?.stringValue?.hasPrefix(group) == true && $0["kind"] != "Service" }!
    var o: JSONValue = ["metadata": ["name": .string(name), "namespace": "vision",
                                     "labels": workload[path: ["spec", "template", "metadata", "labels"]]!,
                                     "annotations": workload[path: ["spec", "template", "metadata", "annotations"]]!],
                        "status": ["conditions": [["type": "Ready", "status": ready ? "True" : "False"]]]]
    var engine: JSONValue = ["name": "engine"]
    if let exitCode {
      let terminated: JSONValue = ["exitCode": JSONValue(exitCode), "reason": exitCode == 0 ? "Completed" : "Error", "message": result.map { .string($0) } ?? .null]
      if restarting {
        engine["state"] = ["waiting": ["reason": "CrashLoopBackOff"]]
        engine["lastState"] = ["terminated": terminated]
      } else {
        engine["state"] = ["terminated": terminated]
      }
    } else {
      engine["state"] = ["running": ["startedAt": "2026-11-25T11:59:00Z"]]
    }
    o[path: ["status", "initContainerStatuses"]] = [engine]
    return o
  }

  func condition(_ s: EdgeModelStatus, _ type: String) -> StatusCondition? { s.conditions?.first { $0.type == type } }

  @Test func oneWorkloadPerGroupWithDeterministicNamesAndReplicasSpread() throws {
    var s = baseSpec
    s[path: ["placement"]] = ["jetson": ["l4t": ">=36"], "replicas": 4]
    let p = plan(try model(s))
    let workloads = p.objects.map(\.object).filter { $0["kind"] == "Deployment" }
    #expect(workloads.count == 3)   // orin-nx, agx-orin, orin-nano groups
    let replicas = Dictionary(uniqueKeysWithValues: workloads.map { ($0[path: ["metadata", "labels", EdgeModelPlanner.Labels.nodeGroup]]!.stringValue!.split(separator: "-").dropLast().joined(separator: "-"), $0[path: ["spec", "replicas"]]!.intValue!) })
    #expect(replicas == ["orin-nx-16gb": 2, "agx-orin-64gb": 1, "orin-nano-8gb": 1])
    #expect(p.objects.map(\.object).contains { $0["kind"] == "Service" && $0[path: ["metadata", "name"]] == "detector" })
    // Same plan twice: same objects, byte for byte (deterministic names and hashes).
    #expect(plan(try model(s)).objects.map(\.object) == p.objects.map(\.object))
    // A version bump changes the engine key in the template, not the workload's name.
    var bumped = s
    bumped[path: ["model", "version"]] = "4"
    bumped[path: ["model", "digest"]] = .string("sha256:" + String(repeating: "4", count: 64))
    let q = plan(try model(bumped))
    #expect(q.objects.map(\.object).map { $0[path: ["metadata", "name"]] } == p.objects.map(\.object).map { $0[path: ["metadata", "name"]] })
    #expect(q.objects.map(\.object)[0][path: ["spec", "template", "metadata", "annotations", EdgeModelPlanner.Labels.engineKey]]
            != p.objects.map(\.object)[0][path: ["spec", "template", "metadata", "annotations", EdgeModelPlanner.Labels.engineKey]])
    let first = workloads[0]
    #expect(first[path: ["metadata", "ownerReferences"]]?.arrayValue?.first?["controller"] == true)
    #expect(first[path: ["spec", "template", "spec", "initContainers"]]?.arrayValue?.first?["command"] == ["edgeml-engine"])
  }

  @Test func aGroupWhoseL4TReleaseHasABuilderImageBuildsInItWithOurEngineCopiedIn() throws {
    var s = baseSpec
    s[path: ["placement"]] = ["replicas": 5]
    var input = EdgeModelPlanner.Input(model: try model(s), nodes: fleet, pods: [], builderImage: "ghcr.io/edgeml/edgeml:0.1.0",
                                       now: "2026-11-25T12:00:00Z")
    input.builderImagesByL4T = ["36.4": "nvcr.io/nvidia/l4t-jetpack:r36.4.0", "35.6": "nvcr.io/nvidia/l4t-jetpack:r35.6.0"]
    let templates = EdgeModelPlanner.plan(input).objects.map(\.object).filter { $0["kind"] == "Deployment" }.map {
      ($0[path: ["metadata", "labels", EdgeModelPlanner.Labels.nodeGroup]]!.stringValue!, $0[path: ["spec", "template", "spec"]]!)
    }
    let byGroup = Dictionary(uniqueKeysWithValues: templates)
    #expect(byGroup.count == 5)
    for (group, spec) in byGroup {
      let inits = spec["initContainers"]?.arrayValue ?? []
      if group.hasPrefix("orin-nx-16gb") && spec[path: ["affinity"]]?.serializedString().contains("8.5.2") == true {
        // L4T 35.4.1 has no entry ("35.6" is not its prefix): our image builds, as before.
        #expect(inits.map { $0["name"] } == ["engine"])
        #expect(inits[0]["image"] == "ghcr.io/edgeml/edgeml:0.1.0" && inits[0]["command"] == ["edgeml-engine"])
        continue
      }
      let want: JSONValue = group.hasPrefix("xavier") ? "nvcr.io/nvidia/l4t-jetpack:r35.6.0" : "nvcr.io/nvidia/l4t-jetpack:r36.4.0"
      #expect(inits.map { $0["name"] } == ["edgeml-tools", "engine"], "\(group)")
      // Our image copies edgeml-engine into the shared volume …
      #expect(inits[0]["image"] == "ghcr.io/edgeml/edgeml:0.1.0")
      #expect(inits[0]["args"] == ["--install-to", "/edgeml/tools"])
      // … and the group's L4T image runs that copy through the loader it brought, trusting our CA bundle.
      #expect(inits[1]["image"] == want, "\(group)")
      #expect(inits[1]["command"] == ["/edgeml/tools/ld.so", "--library-path", "/edgeml/tools/lib", "/edgeml/tools/edgeml-engine"])
      let args = inits[1]["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
      #expect(args.suffix(2) == ["--ca-file", "/edgeml/tools/ca-certificates.crt"] && args.contains("--key"))
      #expect(inits[1]["volumeMounts"]?.arrayValue?.contains { $0["name"] == "edgeml-tools" && $0["readOnly"] == true } == true)
      #expect(spec["volumes"]?.arrayValue?.contains { $0["name"] == "edgeml-tools" && $0["emptyDir"] != nil } == true)
    }
    // The model's own builder image wins over the table, and is run the same way.
    s[path: ["engine"]] = ["builderImage": "registry.local/l4t-trt:36"]
    input.model = try model(s)
    for object in EdgeModelPlanner.plan(input).objects.map(\.object) where object["kind"] == "Deployment" {
      let inits = object[path: ["spec", "template", "spec", "initContainers"]]?.arrayValue ?? []
      #expect(inits.map { $0["image"] } == ["ghcr.io/edgeml/edgeml:0.1.0", "registry.local/l4t-trt:36"])
    }
  }

  @Test func builderImagesMatchTheLongestDottedPrefixOfTheRelease() {
    let table = BuilderImages(tools: "ours", byL4T: ["36.4": "a", "36": "b", "35.4.1": "c"])
    #expect(table.image(forL4T: "36.4.3") == "a")
    #expect(table.image(forL4T: "36.4") == "a")
    #expect(table.image(forL4T: "36.40.0") == "b")   // "36.4" is not a dotted prefix of 36.40
    #expect(table.image(forL4T: "36.2.0") == "b")
    #expect(table.image(forL4T: "35.4.1") == "c")
    #expect(table.image(forL4T: "35.4.2") == nil)
    #expect(table.image(forL4T: "") == nil)
  }

  @Test func thePodTemplateSelectsTheGroupsNodesByTheirLabels() throws {
    var s = baseSpec
    s[path: ["placement"]] = ["jetson": ["l4t": ">=36.2", "minMemoryMiB": 8000], "replicas": 1]
    let p = plan(try model(s))
    let nx = try #require(p.objects.map(\.object).first { $0[path: ["metadata", "labels", EdgeModelPlanner.Labels.nodeGroup]]?.stringValue?.hasPrefix("orin-nx-16gb") == true })
    let terms = nx[path: ["spec", "template", "spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"]]
    #expect(terms == [["matchExpressions": [
      ["key": "edgeml.io/jetson.module", "operator": "In", "values": ["orin-nx-16gb"]],
      ["key": "edgeml.io/tensorrt", "operator": "In", "values": ["10.3.0"]],
      ["key": "edgeml.io/gpu.arch", "operator": "In", "values": ["sm_87"]],
      ["key": "edgeml.io/l4t", "operator": "In", "values": ["36.4.3"]],
      ["key": "edgeml.io/memory.mib", "operator": "Gt", "values": ["7999"]],
    ]]])
  }

  @Test func daemonSetModeRunsOnEveryReadyNodeOfEachGroup() throws {
    var s = baseSpec
    s[path: ["placement"]] = ["mode": "DaemonSet", "jetson": ["modules": ["orin-nx-16gb"]]]
    let p = plan(try model(s))
    #expect(p.objects.map(\.object).filter { $0["kind"] == "DaemonSet" }.count == 2)   // TensorRT 10.3 and 8.5 groups
    #expect(p.objects.map(\.object).allSatisfy { $0["kind"] != "Deployment" })
  }

  @Test func noEligibleNodesIsPendingWithTheReason() throws {
    var s = baseSpec
    s[path: ["placement"]] = ["jetson": ["modules": ["agx-thor-128gb"]]]
    let p = plan(try model(s))
    #expect(p.objects.map(\.object).isEmpty)
    #expect(p.status.phase == .pending)
    #expect(condition(p.status, "Scheduled")?.status == "False")
    #expect(condition(p.status, "Scheduled")?.message == "0/7 nodes eligible: 7 module not in [agx-thor-128gb]")
    #expect(p.status.placement?.unschedulableReason == condition(p.status, "Scheduled")?.message)
    #expect(p.events.contains { $0.type == "Warning" && $0.reason == "NoEligibleNodes" })
  }

  @Test func enginesAndReadinessComeFromTheInitContainersResults() throws {
    var s = baseSpec
    s[path: ["placement"]] = ["jetson": ["modules": ["orin-nx-16gb"], "l4t": ">=36"], "replicas": 2]
    let m = try model(s)
    let first = plan(m)
    #expect(first.status.phase == .building)
    #expect(condition(first.status, "EngineReady")?.reason == "Building")
    let key = first.status.engines![0].key!
    let built = #"{"key":"\#(key)","state":"Built","cacheHit":false,"buildSeconds":412.5,"sizeBytes":8123456,"tensorrt":"10.3.0"}"#
    let hit = #"{"key":"\#(key)","state":"Built","cacheHit":true,"buildSeconds":0,"sizeBytes":8123456,"tensorrt":"10.3.0"}"#
    let pods = [pod(first, group: "orin-nx-16gb", name: "a", result: built, ready: true),
                pod(first, group: "orin-nx-16gb", name: "b", result: hit, ready: true)]
    let p = plan(try model(s, status: ModelCoding.encode(first.status)), pods: pods)
    let engine = p.status.engines![0]
    #expect(engine.state == .built && engine.buildSeconds == 412.5 && engine.cacheHits == 1 && engine.sizeBytes == 8123456)
    #expect(engine.nodeGroup == NodeGroupFacts(module: "orin-nx-16gb", l4t: "36.4.3", tensorrt: "10.3.0", gpuArch: "sm_87"))
    #expect(p.status.phase == .ready && p.status.readyReplicas == 2 && p.status.currentVersion == "3")
    #expect(condition(p.status, "Ready")?.status == "True")
    #expect(p.events.contains { $0.reason == "EngineBuilt" && $0.note.contains("built in 412.5 s") })
    #expect(p.events.contains { $0.reason == "Ready" })
    // Unchanged input: no events, same transition times.
    let again = plan(try model(s, status: ModelCoding.encode(p.status)), pods: pods)
    #expect(again.events.isEmpty)
    #expect(again.status == p.status)
  }

  @Test("an engine every pod found in its node's cache is reported as such, not as built again")
  func anEngineFromTheNodeCacheIsNotReportedAsBuilt() throws {
    var s = baseSpec
    s[path: ["placement"]] = ["jetson": ["modules": ["orin-nx-16gb"], "l4t": ">=36"], "replicas": 1]
    let first = plan(try model(s))
    let key = first.status.engines![0].key!
    // edgeml-engine reports the seconds of the build that made the cached engine on a hit too.
    let hit = #"{"key":"\#(key)","state":"Built","cacheHit":true,"buildSeconds":1.0,"sizeBytes":8123456,"tensorrt":"10.3.0"}"#
    let p = plan(try model(s, status: ModelCoding.encode(first.status)), pods: [pod(first, group: "orin-nx-16gb", name: "a", result: hit, ready: true)])
    let note = try #require(p.events.first { $0.reason == "EngineBuilt" }?.note)
    #expect(note.hasSuffix("from the node cache (built there in 1.0 s)"), "\(note)")
    #expect(!note.contains("built in"))
    #expect(p.status.engines?[0].message == "served from the node cache")
  }

  @Test func aFailedBuildKeepsThePreviousVersionServingAndSaysWhy() throws {
    var s = baseSpec
    s[path: ["placement"]] = ["jetson": ["modules": ["agx-orin-64gb"]], "replicas": 1]
    let v3 = plan(try model(s))
    let key3 = v3.status.engines![0].key!
    let ok = #"{"key":"\#(key3)","state":"Built","cacheHit":false,"buildSeconds":10,"sizeBytes":100}"#
    let oldPod = pod(v3, group: "agx-orin-64gb", name: "old", result: ok, ready: true)
    var v4spec = s
    v4spec[path: ["model", "version"]] = "4"
    v4spec[path: ["model", "digest"]] = .string("sha256:" + String(repeating: "4", count: 64))
    let ready3 = plan(try model(s, status: ModelCoding.encode(v3.status)), pods: [oldPod]).status
    let v4 = plan(try model(v4spec, status: ModelCoding.encode(ready3), generation: 2), pods: [oldPod])
    let failure = #"{"key":"\#(v4.status.engines![0].key!)","state":"Failed","reason":"DigestMismatch","message":"model digest sha256:4444 does not match sha256:9999"}"#
    let newPod = pod(v4, group: "agx-orin-64gb", name: "new", exitCode: 1, result: failure, ready: false, restarting: true)
    let p = plan(try model(v4spec, status: ModelCoding.encode(v4.status), generation: 2), pods: [oldPod, newPod])
    #expect(condition(p.status, "EngineReady")?.status == "False")
    #expect(condition(p.status, "EngineReady")?.reason == "DigestMismatch")
    #expect(condition(p.status, "EngineReady")?.message?.contains("does not match") == true)
    #expect(condition(p.status, "Available")?.status == "True")
    #expect(p.status.phase == .degraded && p.status.currentVersion == "3")
    #expect(p.events.contains { $0.type == "Warning" && $0.reason == "EngineFailed" })
    #expect(p.events.contains { $0.type == "Warning" && $0.reason == "DigestMismatch" })
  }

  @Test func scaledToZeroKeepsTheDeploymentsAndNeedsNoEngine() throws {
    var s = baseSpec
    s[path: ["placement"]] = ["jetson": ["modules": ["orin-nx-16gb"], "l4t": ">=36"], "replicas": 0]
    let p = plan(try model(s))
    let deployments = p.objects.map(\.object).filter { $0["kind"] == "Deployment" }
    #expect(deployments.count == 1 && deployments[0][path: ["spec", "replicas"]] == 0)
    #expect(p.status.engines == nil)
    #expect(condition(p.status, "EngineReady")?.reason == "NoReplicas")
    #expect(p.status.phase == .ready)
  }

  @Test func replicasNeverExceedTheGPUsOfAGroup() {
    let g = { (n: Int, plugin: Bool) in
      Placement.NodeGroup(module: "m\(n)", tensorRT: "10.3.0", gpuArch: "sm_87", dlaCore: nil, nodes: (0..<n).map { "n\($0)" },
                          readyNodes: [], l4t: "36.4.3", l4ts: ["36.4.3"], deviceplugin: plugin)
    }
    #expect(EdgeModelPlanner.distribute(10, over: [g(2, true), g(3, true)]) == [2, 3])
    #expect(EdgeModelPlanner.distribute(10, over: [g(2, false), g(3, false)]) == [4, 6])
    #expect(EdgeModelPlanner.distribute(1, over: [g(2, true), g(3, true)]) == [0, 1])
  }
}

@Test("the operator's caches drop managedFields and kubectl's last-applied copy but keep the annotations it reads")
func operatorCacheTransformKeepsWhatTheReconcilerReads() {
  let labels = EdgeModelPlanner.Labels.self
  let deployment: JSONValue = [
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": ["name": "detector-orin", "namespace": "default", "resourceVersion": "42",
                 "managedFields": [["manager": "edgeml-operator", "operation": "Apply"]],
                 "annotations": [.init(labels.appliedHash): "0123456789abcdef", .init(labels.engineKey): "b877cedfff7b",
                                 "kubectl.kubernetes.io/last-applied-configuration": "{}"]],
    "spec": ["replicas": 2],
  ]
  let cached = OperatorAssembly.cacheTransform(deployment)
  #expect(cached[path: ["metadata", "managedFields"]] == nil)
  #expect(cached[path: ["metadata", "annotations"]] == [.init(labels.appliedHash): "0123456789abcdef", .init(labels.engineKey): "b877cedfff7b"])
  #expect(cached[path: ["metadata", "resourceVersion"]] == "42" && cached["spec"] == deployment["spec"])
  #expect(OperatorAssembly.cacheTransform(cached) == cached)   // a relist of an unchanged object compares equal
}

@Test("the operator caches a node and a pod with only what placement, the planner and the indexers read")
func perKindCacheTransformsKeepWhatIsRead() {
  let node: JSONValue = [
    "apiVersion": "v1", "kind": "Node",
    "metadata": ["name": "orin-nx-16gb-0", "resourceVersion": "7", "labels": [.init(JetsonLabels.module): "orin-nx-16gb", .init(JetsonLabels.gpuArch): "sm_87"]],
    "spec": ["taints": [["key": "edge", "effect": "NoSchedule"]], "unschedulable": true, "podCIDR": "10.42.0.0/24"],
    "status": ["conditions": [["type": "Ready", "status": "True"]], "allocatable": ["nvidia.com/gpu": "1", "cpu": "8"],
               "images": [["names": ["nvcr.io/nvidia/tritonserver:24.08-py3-igpu"], "sizeBytes": 9_000_000_000]],
               "nodeInfo": ["kubeletVersion": "v1.31.4+k3s1"]],
  ]
  let cachedNode = OperatorAssembly.cacheTransform(for: .nodes)(node)
  #expect(JetsonNode(json: cachedNode) == JetsonNode(json: node))
  #expect(cachedNode[path: ["status", "images"]] == nil && cachedNode[path: ["spec", "podCIDR"]] == nil)
  let pod: JSONValue = [
    "apiVersion": "v1", "kind": "Pod",
    "metadata": ["name": "p", "namespace": "vision", "labels": ["edgeml.io/model": "detector"],
                 "ownerReferences": [["uid": "rs-1", "controller": true]], "managedFields": [["manager": "kubelet"]]],
    "spec": ["nodeName": "orin-nx-16gb-0", "containers": [["name": "serving", "image": "triton"]]],
    "status": ["phase": "Running", "podIP": "10.42.0.7", "conditions": [["type": "Ready", "status": "True"]],
               "initContainerStatuses": [["name": "engine", "state": ["terminated": ["exitCode": 0]]]]],
  ]
  let cachedPod = OperatorAssembly.cacheTransform(for: .pods)(pod)
  #expect(cachedPod["spec"] == ["nodeName": "orin-nx-16gb-0"])
  #expect(cachedPod["status"] == ["phase": "Running", "conditions": pod[path: ["status", "conditions"]]!,
                                  "initContainerStatuses": pod[path: ["status", "initContainerStatuses"]]!])
  #expect(Store.standardIndexers["owner"]!(cachedPod) == ["rs-1"] && Store.standardIndexers["nodeName"]!(cachedPod) == ["orin-nx-16gb-0"])
  #expect(EdgeModelReconciler.modelKey(of: cachedPod) == ["vision/detector"])
  #expect(OperatorAssembly.cacheTransform(for: .pods)(cachedPod) == cachedPod)

  // The informers parse with a projection of the same fields: what they cache is what the
  // transform makes of the whole object.
  let deployment: JSONValue = [
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": ["name": "d", "namespace": "vision", "managedFields": [["manager": "edgeml-operator"]],
                 "annotations": ["kubectl.kubernetes.io/last-applied-configuration": "{}"]],
    "spec": ["replicas": 2], "status": ["readyReplicas": 2],
  ]
  let model: JSONValue = [
    "apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel",
    "metadata": ["name": "detector", "annotations": ["kubectl.kubernetes.io/last-applied-configuration": "{}", "a": "b"],
                 "managedFields": [["manager": "kubectl"]]],
    "spec": ["model": ["uri": "file:///m.onnx"]], "status": ["phase": "Ready"],
  ]
  let transforms: [(GroupVersionResource?, JSONValue, Reflector.TransformFunction)] = [
    (.nodes, node, OperatorAssembly.cacheTransform(for: .nodes)), (.pods, pod, OperatorAssembly.cacheTransform(for: .pods)),
    (.deployments, deployment, OperatorAssembly.cacheTransform(for: .deployments)), (nil, model, OperatorAssembly.cacheTransform),
  ]
  for (resource, object, transform) in transforms {
    let bytes = object.serialized()
    let projected = try? JSONParser.parse(bytes, projection: OperatorAssembly.cacheProjection(for: resource))
    #expect(projected.map(transform) == transform(object), "\(object["kind"] ?? "")")
    #expect(projected?[path: ["metadata", "managedFields"]] == nil)
  }
}
