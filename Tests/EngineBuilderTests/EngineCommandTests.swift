import Crypto
import Foundation
import KubeCore
import Testing

/// `edgeml engine` end to end: the real binary, the trtexec double, files on disk.
@Suite("edgeml engine")
struct EngineCommandTests {
  @Test("A file:// model is built once, laid out for Triton, and reported as Built")
  func buildsAndLaysOut() async throws {
    let f = try EngineFixture()
    let out = try await f.run()
    #expect(out.status == 0, "\(out.stderr)")
    let result = try f.box.result()
    #expect(result.string("key") == f.key)
    #expect(result.string("state") == "Built")
    #expect(result.bool("cacheHit") == false)
    #expect(result.string("tensorrt") == "10.3.0")
    let plan = try #require(f.box.read("models/detector/1/model.plan"))
    #expect(result.double("sizeBytes") == Double(plan.count))
    #expect(FileManager.default.contents(atPath: f.cachedPlan).map([UInt8].init) == plan)
    #expect(String(decoding: plan.prefix(28), as: UTF8.self) == "EDGEML-TRTEXEC-DOUBLE-PLAN 1")
    #expect(String(decoding: plan, as: UTF8.self).contains("\"precision\":\"fp32+fp16\""))
    let config = String(decoding: try #require(f.box.read("models/detector/config.pbtxt")), as: UTF8.self)
    #expect(config == "name: \"detector\"\nplatform: \"tensorrt_plan\"\nmax_batch_size: 0\n")
    #expect(f.box.exists("cache/\(f.keyHex).json"))
    #expect(f.box.exists("cache/timing.cache"))
    #expect(f.box.buildCount == 1)
    // no scratch left behind
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: f.box.path("cache")).filter { $0.hasPrefix(".") }
    #expect(leftovers.isEmpty)
  }

  @Test("A build removes what a killed builder of the same key left in the cache directory")
  func abandonedBuildsRemoved() async throws {
    let f = try EngineFixture()
    try f.box.write("cache/.build-\(f.keyHex)-42/model.fetched", [1, 2, 3])
    try f.box.write("cache/\(f.keyHex).plan", [9, 9])   // a plan renamed in before the builder died, no record
    try f.box.write("cache/.build-\(String(repeating: "cd", count: 32))-7/model.fetched", [1])   // another key's: not ours
    let out = try await f.run()
    #expect(out.status == 0, "\(out.stderr)")
    #expect(try f.box.result().bool("cacheHit") == false)
    #expect(!f.box.exists("cache/.build-\(f.keyHex)-42"))
    #expect(f.box.exists("cache/.build-\(String(repeating: "cd", count: 32))-7"))
    #expect((f.box.read("cache/\(f.keyHex).plan")?.count ?? 0) > 2)
  }

  @Test("The plain layout puts model.plan directly in the output directory")
  func plainLayout() async throws {
    let f = try EngineFixture()
    let out = try await f.run(["--layout": "plain"])
    #expect(out.status == 0, "\(out.stderr)")
    #expect(f.box.exists("models/model.plan"))
    #expect(!f.box.exists("models/detector"))
  }

  @Test("A second run with the same key is a cache hit and builds nothing")
  func cacheHit() async throws {
    let f = try EngineFixture()
    #expect(try await f.run().status == 0)
    try FileManager.default.removeItem(atPath: f.box.path("models"))
    let second = try await f.run()
    #expect(second.status == 0)
    let result = try f.box.result()
    #expect(result.bool("cacheHit") == true)
    #expect(result.string("tensorrt") == "10.3.0")
    #expect(f.box.buildCount == 1)
    #expect(f.box.exists("models/detector/1/model.plan"))
  }

  @Test("A build and a cache hit each mark the entry used, so the node agent's budget sees its last use")
  func markedUsed() async throws {
    let f = try EngineFixture()
    #expect(try await f.run().status == 0)
    let used = f.box.path("cache/\(f.keyHex).used")
    // Back-date the mark: a cache hit must move it forward again.
    let old = Date(timeIntervalSince1970: 1_000_000)
    try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: used)
    try FileManager.default.removeItem(atPath: f.box.path("models"))
    #expect(try await f.run().status == 0)
    #expect(try f.box.result().bool("cacheHit") == true)
    let marked = try #require(try FileManager.default.attributesOfItem(atPath: used)[.modificationDate] as? Date)
    #expect(marked > old)
  }

  @Test("`edgeml engine` is the same program as edgeml-engine: what one builds, the other finds in the cache")
  func subcommandMatchesSlimBinary() async throws {
    let f = try EngineFixture()
    let built = try await f.box.run(Sandbox.edgeml, ["engine"] + f.arguments())
    #expect(built.status == 0, "\(built.stderr)")
    #expect(try f.box.result().string("state") == "Built")
    try FileManager.default.removeItem(atPath: f.box.path("models"))
    let again = try await f.run()
    #expect(again.status == 0, "\(again.stderr)")
    #expect(try f.box.result().bool("cacheHit") == true)
    #expect(f.box.buildCount == 1)
    let bad = try await f.box.run(Sandbox.edgeml, ["engine"] + f.arguments(["--precision": "fp8"]))
    #expect(bad.status == 2 && bad.stderr.contains("edgeml engine: --precision must be one of"))
  }

  @Test("Two builders of one key on one node build once; the other waits and gets a cache hit")
  func concurrentBuildersBuildOnce() async throws {
    let f = try EngineFixture()
    let env = ["EDGEML_TRTEXEC_BUILD_SECONDS": "1.5"]
    async let a = f.box.run(Sandbox.edgemlEngine, f.arguments(["--termination-log": f.box.path("a.json"), "--output-dir": f.box.path("a")]), environment: env)
    async let b = f.box.run(Sandbox.edgemlEngine, f.arguments(["--termination-log": f.box.path("b.json"), "--output-dir": f.box.path("b")]), environment: env)
    let (ra, rb) = try await (a, b)
    #expect(ra.status == 0 && rb.status == 0, "\(ra.stderr)\n\(rb.stderr)")
    #expect(f.box.buildCount == 1)
    let hits = try [f.box.result("a.json"), f.box.result("b.json")].map { $0.bool("cacheHit") == true }
    #expect(hits.filter { $0 }.count == 1)
    #expect(f.box.read("a/detector/1/model.plan") == f.box.read("b/detector/1/model.plan"))
  }

  @Test("Nodes of a group sharing a cache: the first builds and publishes, the others copy it (one build per group)")
  func sharedCacheBuildsOncePerGroup() async throws {
    let f = try EngineFixture()
    let env = ["EDGEML_TRTEXEC_BUILD_SECONDS": "1.0"]
    func node(_ n: String) -> [String: String?] {
      ["--cache-dir": f.box.path("\(n)/cache"), "--shared-cache-dir": f.box.path("shared"),
       "--output-dir": f.box.path("\(n)/models"), "--termination-log": f.box.path("\(n).json")]
    }
    // Two nodes start together; a third comes later (a pod rescheduled after a node failure).
    async let a = f.box.run(Sandbox.edgemlEngine, f.arguments(node("a")), environment: env)
    async let b = f.box.run(Sandbox.edgemlEngine, f.arguments(node("b")), environment: env)
    let (ra, rb) = try await (a, b)
    #expect(ra.status == 0 && rb.status == 0, "\(ra.stderr)\n\(rb.stderr)")
    let late = try await f.box.run(Sandbox.edgemlEngine, f.arguments(node("c")), environment: env)
    #expect(late.status == 0, "\(late.stderr)")
    #expect(f.box.buildCount == 1)
    let results = try ["a.json", "b.json", "c.json"].map { try f.box.result($0) }
    #expect(results.map { $0.string("cacheSource") ?? "" }.sorted() == ["none", "shared", "shared"])
    #expect(f.box.read("a/models/detector/1/model.plan") == f.box.read("c/models/detector/1/model.plan"))
    // Each node now has the plan in its own cache: a restart there is a node cache hit.
    let again = try await f.box.run(Sandbox.edgemlEngine, f.arguments(node("c")), environment: env)
    let source = try f.box.result("c.json").string("cacheSource")
    #expect(again.status == 0 && source == "node")
  }

  @Test("A model whose bytes do not match --model-digest is refused before any build")
  func digestMismatch() async throws {
    let f = try EngineFixture()
    let wrong = "sha256:" + String(repeating: "0", count: 64)
    let out = try await f.run(["--model-digest": wrong])
    #expect(out.status == 1)
    let result = try f.box.result()
    #expect(result.string("state") == "Failed")
    #expect(result.string("reason") == "DigestMismatch")
    #expect(result.string("message") == "model digest \(ONNXFixture.sha256(f.model)) does not match \(wrong)")
    #expect(f.box.buildCount == 0)
    #expect(!FileManager.default.fileExists(atPath: f.cachedPlan))
  }

  @Test("Ed25519: a valid detached signature builds, a signature by another key is SignatureInvalid",
        arguments: ["raw", "base64", "pem"])
  func signature(_ keyFormat: String) async throws {
    let f = try EngineFixture()
    let signer = Curve25519.Signing.PrivateKey()
    let raw = [UInt8](signer.publicKey.rawRepresentation)
    let keyBytes: [UInt8]
    switch keyFormat {
    case "raw": keyBytes = raw
    case "base64": keyBytes = Array((Data(raw).base64EncodedString() + "\n").utf8)
    default:
      let der: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00] + raw
      keyBytes = Array("-----BEGIN PUBLIC KEY-----\n\(Data(der).base64EncodedString())\n-----END PUBLIC KEY-----\n".utf8)
    }
    let keyFile = try f.box.write("secrets/model.pub", keyBytes)
    let good = try f.box.write("src/model.sig", [UInt8](try signer.signature(for: Data(f.model))))
    let ok = try await f.run(["--signature-uri": "file://\(good)", "--public-key-file": keyFile])
    #expect(ok.status == 0, "\(ok.stderr)")

    let other = try f.box.write("src/other.sig", [UInt8](try Curve25519.Signing.PrivateKey().signature(for: Data(f.model))))
    let bad = try await f.run(["--signature-uri": "file://\(other)", "--public-key-file": keyFile, "--key": "sha256:" + String(repeating: "cd", count: 32)])
    #expect(bad.status == 1)
    #expect(try f.box.result().string("reason") == "SignatureInvalid")
  }

  @Test("AES-256-GCM: the right key decrypts and builds, a wrong key is DecryptionFailed and logs no key")
  func decryption() async throws {
    let plain = ONNXFixture.model()
    let key = SymmetricKey(size: .bits256)
    let sealed = [UInt8](try #require(try AES.GCM.seal(plain, using: key).combined))
    let f = try EngineFixture(model: sealed)
    let keyBytes = key.withUnsafeBytes { [UInt8]($0) }
    let keyFile = try f.box.write("secrets/model.key", Array(Data(keyBytes).base64EncodedString().utf8))
    let ok = try await f.run(["--encryption-key-file": keyFile])
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(f.box.buildCount == 1)

    let wrongKey = SymmetricKey(size: .bits256).withUnsafeBytes { [UInt8]($0) }
    let wrongFile = try f.box.write("secrets/wrong.key", wrongKey)
    let bad = try await f.run(["--encryption-key-file": wrongFile, "--key": "sha256:" + String(repeating: "ef", count: 32)])
    #expect(bad.status == 1)
    #expect(try f.box.result().string("reason") == "DecryptionFailed")
    let b64 = Data(wrongKey).base64EncodedString()
    #expect(!bad.stderr.contains(b64) && !bad.stdout.contains(b64))
    #expect(f.box.buildCount == 1)

    // A key file that is not there (the Secret's key misnamed) says so, not "not a 256-bit key".
    let missing = try await f.run(["--encryption-key-file": f.box.path("secrets/absent.key"),
                                   "--key": "sha256:" + String(repeating: "cd", count: 32)])
    #expect(missing.status == 2)
    #expect(try f.box.result().string("reason") == "InvalidArguments")
    #expect(try f.box.result().string("message")?.hasSuffix("secrets/absent.key: file not found") == true)
  }

  @Test("A model source without end (file:///dev/zero) or over the size limit fails at once and leaves nothing in the cache")
  func sourcesThatWouldFillTheDisk() async throws {
    let f = try EngineFixture()
    let endless = try await f.run(["--model-uri": "file:///dev/zero"])
    #expect(endless.status == 1)
    #expect(try f.box.result().string("reason") == "FetchFailed")
    #expect(try f.box.result().string("message")?.contains("not a regular file") == true)
    let large = try await f.run(["--max-fetch-bytes": String(f.model.count - 1)])
    #expect(large.status == 1)
    #expect(try f.box.result().string("message")?.contains("over the size limit of \(f.model.count - 1) bytes") == true)
    #expect(f.box.buildCount == 0)
    let cached = (try? FileManager.default.contentsOfDirectory(atPath: f.box.path("cache"))) ?? []
    #expect(cached.allSatisfy { !$0.hasPrefix(".build-") })   // no partial download left behind
    #expect(try await f.run(["--max-fetch-bytes": "0"]).status == 2)
  }

  @Test("An engine that cannot write its termination message exits non-zero instead of reporting a silent success")
  func unwritableTerminationLog() async throws {
    let f = try EngineFixture()
    let directory = f.box.path("src")   // a directory: no file can be written there
    let out = try await f.run(["--termination-log": directory])
    #expect(out.status == 1)
    #expect(out.stdout.contains("cannot write the termination message"), "\(out.stdout)")
  }

  @Test("A prebuilt tensorrt-plan model is cached and laid out without running trtexec")
  func prebuiltPlan() async throws {
    let planBytes = Array("EDGEML-TRTEXEC-DOUBLE-PLAN 1\n{}\nbody".utf8)
    let f = try EngineFixture(model: planBytes)
    let out = try await f.run(["--model-format": "tensorrt-plan"])
    #expect(out.status == 0, "\(out.stderr)")
    #expect(f.box.read("models/detector/1/model.plan") == planBytes)
    #expect(f.box.buildCount == 0)
  }

  @Test("Acceptance gate: trtexec's measured latency and throughput decide", arguments: [
    (["--max-latency-ms": "1000"], true), (["--max-latency-ms": "0.001"], false),
    (["--min-throughput-qps": "1"], true), (["--min-throughput-qps": "100000000"], false),
  ] as [([String: String?], Bool)])
  func acceptance(_ gate: [String: String?], _ accepted: Bool) async throws {
    let f = try EngineFixture()
    let out = try await f.run(gate)
    let result = try f.box.result()
    if accepted {
      #expect(out.status == 0, "\(out.stderr)")
      #expect((result.double("latencyMs") ?? 0) > 0)
      #expect((result.double("throughputQPS") ?? 0) > 0)
      #expect(f.box.exists("models/detector/1/model.plan"))
    } else {
      #expect(out.status == 1)
      #expect(result.string("reason") == "AcceptanceFailed")
      #expect(!f.box.exists("models/detector/1/model.plan"))
    }
  }

  @Test("A gate on a cached plan built without timing times it with trtexec --loadEngine, without rebuilding")
  func gateOnCacheHit() async throws {
    let f = try EngineFixture()
    #expect(try await f.run().status == 0)
    #expect(try f.box.result().double("latencyMs") == nil)
    let gated = try await f.run(["--max-latency-ms": "1000"])
    #expect(gated.status == 0, "\(gated.stderr)")
    let result = try f.box.result()
    #expect(result.bool("cacheHit") == true)
    #expect((result.double("latencyMs") ?? 0) > 0)
    #expect(gated.stderr.contains("--loadEngine=\(f.cachedPlan)"))
    #expect(f.box.buildCount == 1)
    // the same plan on a node with another GPU does not pass the gate's timing run
    let elsewhere = try await f.run(["--max-latency-ms": "1000"], environment: ["EDGEML_TRTEXEC_COMPUTE": "7.2"])
    #expect(elsewhere.status == 1)
    #expect(try f.box.result().string("message")?.contains("incompatible device") == true)
  }

  @Test("On TensorRT 8.5.2 the build uses --buildOnly and --memPoolSize and reports 8.5.2")
  func tensorRT85() async throws {
    let f = try EngineFixture()
    let out = try await f.run(["--workspace-mib": "1024"], environment: ["EDGEML_TRTEXEC_TENSORRT": "8.5.2"])
    #expect(out.status == 0, "\(out.stderr)")
    #expect(try f.box.result().string("tensorrt") == "8.5.2")
    #expect(out.stderr.contains("--memPoolSize=workspace:1024M"))
    #expect(out.stderr.contains("--buildOnly"))
  }

  @Test("A build trtexec refuses is BuildFailed with trtexec's error lines")
  func buildFailed() async throws {
    let f = try EngineFixture()
    let out = try await f.run(["--dla-core": "0"], environment: ["EDGEML_TRTEXEC_DLA_CORES": "0"])
    #expect(out.status == 1)
    let result = try f.box.result()
    #expect(result.string("reason") == "BuildFailed")
    #expect(result.string("message")?.contains("Cannot create DLA engine, 0 not available") == true)
  }

  @Test("Bad arguments exit 2 with InvalidArguments", arguments: [
    ["--precision": "fp64"], ["--key": "sha256:xyz"], ["--model-version": "01"], ["--dla-core": "one"], ["--model-uri": nil],
  ] as [[String: String?]])
  func invalidArguments(_ overrides: [String: String?]) async throws {
    let f = try EngineFixture()
    let out = try await f.run(overrides)
    #expect(out.status == 2)
    #expect(try f.box.result().string("reason") == "InvalidArguments")
  }

  @Test("The command line: --flag value and --flag=value, the last repeat wins, a missing value or unknown word is InvalidArguments")
  func commandLineGrammar() async throws {
    let f = try EngineFixture()
    // --precision=int8 then --precision fp16: fp16 builds; --layout=plain puts the plan at the top.
    let ok = try await f.box.run(Sandbox.edgemlEngine, f.arguments(["--layout": nil], flags: ["--precision=int8", "--precision", "fp16", "--layout=plain"]))
    #expect(ok.status == 0, "\(ok.stderr)")
    #expect(f.box.exists("models/model.plan"))
    #expect(String(decoding: try #require(f.box.read("models/model.plan")), as: UTF8.self).contains("\"precision\":\"fp32+fp16\""))
    let missing = try await f.box.run(Sandbox.edgemlEngine, f.arguments(flags: ["--workspace-mib"]))
    #expect(missing.status == 2 && missing.stderr.contains("edgeml-engine: --workspace-mib needs a value"))
    #expect(try f.box.result().string("reason") == "InvalidArguments")
    // A flag of the program is never another flag's value.
    let swallowed = try await f.box.run(Sandbox.edgemlEngine, f.arguments(flags: ["--shared-cache-dir", "--allow-gpu-fallback"]))
    #expect(swallowed.status == 2 && swallowed.stderr.contains("--shared-cache-dir needs a value"))
    let unknown = try await f.box.run(Sandbox.edgemlEngine, f.arguments(flags: ["--fp16"]))
    #expect(unknown.status == 2 && unknown.stderr.contains("unknown argument --fp16"))
    let help = try await f.box.run(Sandbox.edgemlEngine, ["--help"])
    #expect(help.status == 0 && help.stdout.contains("--shared-cache-dir <value>") && help.stdout.contains("--allow-gpu-fallback"))
  }
}

/// The kubelet stops an init container with SIGTERM (pod deleted, node drained during a build).
@Suite("edgeml-engine stopped mid-build")
struct EngineInterruptionTests {
  /// Processes whose command line names the sandbox (the builder and its trtexec).
  func processes(naming root: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
      guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
      return String(decoding: raw.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(root)
    }
  }

  @Test("SIGTERM while trtexec builds: trtexec stopped, scratch and decrypted model removed, the interruption reported, the key buildable again")
  func sigtermCleansUp() async throws {
    // An encrypted model: the build directory holds its plain text while trtexec runs.
    let key = SymmetricKey(size: .bits256)
    let f = try EngineFixture(model: [UInt8](try #require(try AES.GCM.seal(ONNXFixture.model(), using: key).combined)))
    let keyFile = try f.box.write("secrets/model.key", Array(Data(key.withUnsafeBytes { [UInt8]($0) }).base64EncodedString().utf8))
    // A long build, so the signal lands while trtexec runs.
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Sandbox.edgemlEngine)
    process.arguments = f.arguments(["--encryption-key-file": keyFile])
    var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("EDGEML_TRTEXEC_") }
    env["EDGEML_TRTEXEC_BUILD_SECONDS"] = "900"
    process.environment = env
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    let exited = AsyncStream<Int32>.makeStream()
    process.terminationHandler = { exited.continuation.yield($0.terminationStatus); exited.continuation.finish() }
    try process.run()
    // Waits for a state of other processes (trtexec started: the counting script writes its line,
    // then execs the double in the same process, the child the engine tracks), not for time to
    // pass; the deadline only ends a test that hangs.
    var started = false
    let deadline = ContinuousClock.now + .seconds(300)
    while !started && ContinuousClock.now < deadline {
      started = f.box.buildCount == 1
      if !started { try await Task.sleep(for: .milliseconds(50)) }
    }
    #expect(started, "trtexec never started")
    let scratch = try FileManager.default.contentsOfDirectory(atPath: f.box.path("cache")).filter { $0.hasPrefix(".build-") }
    #expect(scratch.count == 1)
    #expect(f.box.exists("cache/\(scratch.first ?? "")/model.decrypted"))
    kill(process.processIdentifier, SIGTERM)
    var status: Int32 = -1
    for await s in exited.stream { status = s }
    #expect(status == 128 + SIGTERM)
    #expect(try FileManager.default.contentsOfDirectory(atPath: f.box.path("cache")).filter { $0.hasPrefix(".") }.isEmpty)
    #expect(!f.box.exists("cache/\(f.keyHex).plan"))
    // trtexec went with it (SIGKILL is delivered at once; give the kernel a moment to reap).
    var left = processes(naming: f.box.root)
    for _ in 0..<100 where !left.isEmpty {
      try await Task.sleep(for: .milliseconds(20))
      left = processes(naming: f.box.root)
    }
    #expect(left.isEmpty, "still running: \(left)")
    let result = try f.box.result()
    #expect(result.string("state") == "Failed")
    #expect(result.string("message")?.contains("interrupted by signal 15") == true)
    // The lock died with the process: the next builder builds.
    let again = try await f.run(["--encryption-key-file": keyFile])
    #expect(again.status == 0, "\(again.stderr)")
    #expect(f.box.buildCount == 2)
  }
}
