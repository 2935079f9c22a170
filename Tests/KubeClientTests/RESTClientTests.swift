import Foundation
import KubeCore
import KubeEmulator
import Synchronization
import Testing
@testable import KubeClient

func client(for emulator: KubeEmulator, credential: ClientConfiguration.Credential? = nil, qps: Double = 1000, burst: Int = 1000,
            retry: RetryPolicy = RetryPolicy()) throws -> KubeClient {
  let ca = emulator.certificateAuthority.map { Array($0.certificatePEM.utf8) }
  let config = ClientConfiguration(server: emulator.url, namespace: "default", certificateAuthorityPEM: ca, insecureSkipTLSVerify: false,
                                   tlsServerName: nil, credential: credential ?? .bearerToken(emulator.adminToken))
  return try KubeClient(configuration: config, qps: qps, burst: burst, retry: retry)
}

func configMap(_ name: String, _ data: JSONValue = [:]) -> JSONValue {
  ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string(name)], "data": data]
}

@Suite("REST client against the emulator")
struct RESTClientTests {
  @Test("create, get, update, patch and delete, with errors decoded from Status")
  func verbs() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let c = try client(for: emulator)
    defer { c.shutdown() }
    let created = try await c.create(.configMaps, namespace: "default", configMap("a", ["k": "1"]))
    #expect(created[path: ["metadata", "uid"]] != nil)
    var got = try await c.get(.configMaps, namespace: "default", name: "a")
    got["data"] = ["k": "2"]
    let updated = try await c.update(.configMaps, namespace: "default", got)
    #expect(updated["data"] == ["k": "2"])
    // The stale copy conflicts: reason Conflict, not message text.
    do { _ = try await c.update(.configMaps, namespace: "default", got); Issue.record("no conflict") }
    catch let e as KubeAPIError { #expect(e.isConflict && e.code == 409) }
    for type in [PatchType.merge, .strategicMerge] {
      _ = try await c.patch(.configMaps, namespace: "default", name: "a", ["data": ["m": .string("\(type)")]], type: type)
    }
    _ = try await c.patch(.configMaps, namespace: "default", name: "a", [["op": "add", "path": "/data/j", "value": "x"]], type: .json)
    let patched = try await c.get(.configMaps, namespace: "default", name: "a")
    #expect(patched[path: ["data", "j"]] == "x" && patched[path: ["data", "m"]] != nil)
    do { _ = try await c.create(.configMaps, namespace: "default", configMap("a")); Issue.record("no AlreadyExists") }
    catch let e as KubeAPIError { #expect(e.isAlreadyExists) }
    do { _ = try await c.create(.configMaps, namespace: "default", configMap("Bad_Name")); Issue.record("no 422") }
    catch let e as KubeAPIError { #expect(e.reason == "Invalid" && e.causes.first?.field == "metadata.name") }
    try await c.delete(.configMaps, namespace: "default", name: "a")
    do { _ = try await c.get(.configMaps, namespace: "default", name: "a"); Issue.record("still there") }
    catch let e as KubeAPIError { #expect(e.isNotFound) }
  }

  @Test("listAll pages through everything; each page respects the limit")
  func pagination() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let c = try client(for: emulator)
    defer { c.shutdown() }
    for i in 0..<23 { _ = try await c.create(.configMaps, namespace: "default", configMap(String(format: "p%02d", i))) }
    let page = try await c.list(.configMaps, namespace: "default", limit: 10)
    #expect(page.items.count == 10 && page.continueToken != nil)
    let all = try await c.listAll(.configMaps, namespace: "default", pageSize: 7)
    let names = all.items.compactMap { $0[path: ["metadata", "name"]]?.stringValue }.filter { $0.hasPrefix("p") }
    #expect(names == (0..<23).map { String(format: "p%02d", $0) })
    // Listed items carry kind and apiVersion (the server leaves them out), so a listed object equals
    // the same object from a get or a watch.
    #expect(all.items.allSatisfy { $0["kind"] == "ConfigMap" && $0["apiVersion"] == "v1" })
    #expect(try await c.get(.configMaps, namespace: "default", name: "p03") == all.items.first { $0[path: ["metadata", "name"]] == "p03" })
  }

  @Test("a watch resumes from a resourceVersion, and a compacted one is a 410 Expired error")
  func watchResume() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let c = try client(for: emulator)
    defer { c.shutdown() }
    let rv = try await c.list(.configMaps, namespace: "default").resourceVersion
    _ = try await c.create(.configMaps, namespace: "default", configMap("w1"))
    _ = try await c.create(.configMaps, namespace: "default", configMap("w2"))
    var seen: [String] = []
    for try await event in try await c.watch(.configMaps, namespace: "default", resourceVersion: rv, timeoutSeconds: 2) {
      if event.type != "BOOKMARK" { seen.append("\(event.type) \(event.object[path: ["metadata", "name"]]?.stringValue ?? "")") }
      if seen.count == 2 { break }
    }
    #expect(seen == ["ADDED w1", "ADDED w2"])
    emulator.api.store.transaction { $0.compact() }
    do {
      for try await _ in try await c.watch(.configMaps, namespace: "default", resourceVersion: rv, timeoutSeconds: 2) {}
      Issue.record("no 410")
    } catch let e as KubeAPIError {
      #expect(e.isGone && e.reason == "Expired")
    }
  }

  /// Records the waits a retry policy asks for instead of sleeping them.
  final class Waits: Sendable {
    private let waits = Mutex<[Duration]>([])
    var all: [Duration] { waits.withLock { $0 } }
    func policy(maxAttempts: Int) -> RetryPolicy {
      var policy = RetryPolicy()
      policy.maxAttempts = maxAttempts
      policy.baseDelay = .milliseconds(100)
      policy.sleep = { d in self.waits.withLock { $0.append(d) } }
      return policy
    }
  }

  @Test("every 429 is retried after the server's Retry-After, and nothing is lost")
  func retriesAfterRetryAfter() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    var faults = FaultInjector.Configuration()
    faults.tooManyRequestsRate = 0.3
    faults.retryAfterSeconds = 7
    faults.seed = 11
    emulator.api.faults.configuration = faults
    let waits = Waits()
    let c = try client(for: emulator, retry: waits.policy(maxAttempts: 12))
    defer { c.shutdown() }
    for i in 0..<30 { _ = try await c.create(.configMaps, namespace: "default", configMap("r\(i)")) }
    let served = emulator.api.faults.servedFaults
    emulator.api.faults.configuration = FaultInjector.Configuration()
    #expect(served >= 5)                                    // the faults were really served…
    #expect(waits.all == Array(repeating: .seconds(7), count: served))   // …and each waited what the server said
    #expect(try await c.list(.configMaps, namespace: "default").items.filter { $0[path: ["metadata", "name"]] != "kube-root-ca.crt" }.count == 30)
  }

  @Test("503 bursts back off exponentially with jitter, and POSTs still land once each")
  func retriesUnavailable() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    var faults = FaultInjector.Configuration()
    faults.unavailableRate = 0.4
    faults.seed = 5
    emulator.api.faults.configuration = faults
    let waits = Waits()
    let c = try client(for: emulator, retry: waits.policy(maxAttempts: 12))
    defer { c.shutdown() }
    for i in 0..<30 { _ = try await c.create(.configMaps, namespace: "default", configMap("u\(i)")) }
    let served = emulator.api.faults.servedFaults
    emulator.api.faults.configuration = FaultInjector.Configuration()
    #expect(served >= 5 && waits.all.count == served)
    // Attempt n waits between half and all of 100 ms · 2^n ("equal jitter").
    #expect(waits.all.allSatisfy { $0 >= .milliseconds(50) && $0 <= .seconds(30) })
    #expect(try await c.list(.configMaps, namespace: "default").items.filter { $0[path: ["metadata", "name"]] != "kube-root-ca.crt" }.count == 30)
  }

  @Test("the client-side rate limit holds the request rate to QPS after the burst")
  func rateLimit() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let c = try client(for: emulator, qps: 20, burst: 5)
    defer { c.shutdown() }
    let start = ContinuousClock.now
    for _ in 0..<25 { _ = try await c.list(.configMaps, namespace: "default") }
    let elapsed = ContinuousClock.now - start
    // 5 immediately, then 20 more at 20/s: never faster than 1 s in total (a lower bound, not a timing budget).
    #expect(elapsed >= .milliseconds(950))
  }

  @Test("an exec credential plugin supplies the token")
  func execPlugin() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let dir = TempDir()
    let script = dir.write("get-token", """
      #!/bin/sh
      test -n "$KUBERNETES_EXEC_INFO" || exit 3
      echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"\(emulator.adminToken)"}}'
      """)
    chmod(script, 0o755)
    let exec = Kubeconfig.ExecConfig(apiVersion: "client.authentication.k8s.io/v1", command: script)
    let c = try client(for: emulator, credential: .exec(exec))
    defer { c.shutdown() }
    #expect(try await c.list(.configMaps, namespace: "default").resourceVersion.isEmpty == false)
  }

  @Test("an exec credential plugin named without a path is found on the PATH of its own env, as kubectl finds it")
  func execPluginOnPluginPath() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let dir = TempDir()
    chmod(dir.write("edgeml-test-credential", """
      #!/bin/sh
      echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"\(emulator.adminToken)"}}'
      """), 0o755)
    // Only the plugin's env puts `dir` on PATH: looking the command up in this process's PATH would miss it.
    let exec = Kubeconfig.ExecConfig(apiVersion: "client.authentication.k8s.io/v1", command: "edgeml-test-credential",
                                     env: [("PATH", "\(dir.path):/usr/bin:/bin")])
    let c = try client(for: emulator, credential: .exec(exec))
    defer { c.shutdown() }
    #expect(try await c.list(.configMaps, namespace: "default").resourceVersion.isEmpty == false)
  }

  @Test("a failing exec credential plugin's exit status is reported, and nothing is sent without a token")
  func execPluginFails() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let dir = TempDir()
    let script = dir.write("no-token", "#!/bin/sh\necho 'not for stdout parsing' >&2\nexit 7\n")
    chmod(script, 0o755)
    let c = try client(for: emulator, credential: .exec(Kubeconfig.ExecConfig(apiVersion: "client.authentication.k8s.io/v1", command: script)))
    defer { c.shutdown() }
    await #expect(throws: TransportError.setupFailed("exec plugin \(script) exited with 7")) {
      try await c.list(.configMaps, namespace: "default")
    }
  }

  @Test("an exec plugin still open for writing (ETXTBSY, a file just written) is started once the writer lets go")
  func execPluginBusy() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let dir = TempDir()
    let script = dir.write("busy", """
      #!/bin/sh
      echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"\(emulator.adminToken)"}}'
      """)
    chmod(script, 0o755)
    // As a writer elsewhere would: the file is open for writing while the client first tries it.
    let writer = open(script, O_WRONLY)
    #expect(writer >= 0)
    let c = try client(for: emulator, credential: .exec(Kubeconfig.ExecConfig(apiVersion: "client.authentication.k8s.io/v1", command: script)))
    defer { c.shutdown() }
    let retriesBefore = ChildProcess.busyRetries.load(ordering: .relaxed)
    // Let go only once the client has met ETXTBSY and is retrying: the path this test is about ran.
    // Watched from a thread of its own: the client's retries block a thread of the cooperative
    // pool, and with the whole suite running on two cores a task polling on that pool could miss
    // the retry window (about a second) altogether.
    let closer = Thread {
      while ChildProcess.busyRetries.load(ordering: .relaxed) == retriesBefore { usleep(1_000) }
      close(writer)
    }
    closer.start()
    #expect(try await c.list(.configMaps, namespace: "default").resourceVersion.isEmpty == false)
  }

  @Test("a token file is re-read when it rotates")
  func tokenRotation() async throws {
    var config = KubeEmulator.Configuration()
    config.tokens = ["second-token": UserInfo(name: "robot", groups: ["system:masters"])]
    let emulator = try await KubeEmulator.start(config)
    defer { Task { await emulator.shutdown() } }
    let dir = TempDir()
    let path = dir.write("token", emulator.adminToken)
    let c = try client(for: emulator, credential: .bearerTokenFile(path))
    defer { c.shutdown() }
    _ = try await c.list(.configMaps, namespace: "default")
    try await Task.sleep(for: .milliseconds(1100))   // file systems with second-resolution mtimes
    try Data("second-token".utf8).write(to: URL(fileURLWithPath: path))
    let review = try await c.create(GroupVersionResource(group: "authentication.k8s.io", version: "v1", resource: "selfsubjectreviews", namespaced: false),
                                    ["apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"])
    #expect(review[path: ["status", "userInfo", "username"]] == "robot")
  }
}
