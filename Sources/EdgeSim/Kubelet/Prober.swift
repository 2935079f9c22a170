import KubeCore
import NIOCore

/// One `httpGet` probe of a container (`livenessProbe` or `readinessProbe`), against the pod IP,
/// with the kubelet's defaults and thresholds (k8s.io/api core/v1 `Probe`: `initialDelaySeconds`
/// 0, `periodSeconds` 10, `timeoutSeconds` 1, `successThreshold` 1, `failureThreshold` 3).
///
/// A probe of another kind (`exec`, `tcpSocket`, `grpc`) is not run: the container is treated as
/// having none. `scheme: HTTPS` is not supported either (pod endpoints here speak HTTP).
struct HTTPProbe: Sendable {
  enum Kind: String, Sendable { case liveness = "Liveness", readiness = "Readiness" }

  var kind: Kind
  var host: String
  var port: Int
  var path: String
  var initialDelaySeconds: Double
  var periodSeconds: Double
  var timeoutSeconds: Double
  var successThreshold: Int
  var failureThreshold: Int

  /// nil when the container has no `httpGet` probe of that kind, or its port names no container port.
  init?(_ kind: Kind, container: JSONValue, host: String) {
    let field = kind == .liveness ? "livenessProbe" : "readinessProbe"
    guard let probe = container[field], let get = probe["httpGet"] else { return nil }
    // A port by name is the container port of that name (pkg/kubelet/prober/prober.go `findPortByName`).
    var port = get["port"]?.intValue
    if port == nil, let name = get["port"]?.stringValue {
      port = (container["ports"]?.arrayValue ?? []).first { $0["name"]?.stringValue == name }?["containerPort"]?.intValue ?? Int(name)
    }
    guard let port else { return nil }
    self.kind = kind
    self.host = host
    self.port = port
    path = get["path"]?.stringValue ?? "/"
    func value(_ name: String, _ fallback: Int) -> Int { max(probe[name]?.intValue ?? fallback, 0) }
    initialDelaySeconds = Double(value("initialDelaySeconds", 0))
    periodSeconds = Double(max(value("periodSeconds", 10), 1))
    timeoutSeconds = Double(max(value("timeoutSeconds", 1), 1))
    // Liveness (and startup) probes must have successThreshold 1 (validation of core/v1 Probe).
    successThreshold = kind == .liveness ? 1 : max(value("successThreshold", 1), 1)
    failureThreshold = max(value("failureThreshold", 3), 1)
  }

  /// One probe: nil on success, else the reason as the kubelet words it. The HTTP prober counts
  /// 200 to 399 as success (pkg/probe/http/http.go `DoHTTPProbe`); other codes fail with "HTTP
  /// probe failed with statuscode: N".
  func check(group: EventLoopGroup, timeout: Duration) async -> String? {
    let (seconds, attoseconds) = max(timeout, .milliseconds(100)).components
    let amount = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    do {
      let code = try await LoopbackHTTP.request(group: group, host: host, port: port, method: .GET, path: path, timeout: amount)
      return (200..<400).contains(code) ? nil : "HTTP probe failed with statuscode: \(code)"
    } catch {
      return "Get \"http://\(host):\(port)\(path)\": \(error)"
    }
  }
}

/// The kubelet's probe workers for one running container (pkg/kubelet/prober/worker.go): each
/// probe runs every period after its initial delay; `successThreshold` successes in a row make a
/// readiness result true, `failureThreshold` failures in a row make it false. Every failure is a
/// Warning `Unhealthy` Event ("Readiness probe failed: …"), as prober.go records it.
///
/// Probe times are wall-clock seconds, not scaled by `--speed`: the processes they probe start
/// and answer in real time, and a liveness probe scaled a hundredfold would kill a process before
/// it could listen.
struct ContainerProber: Sendable {
  let readiness: HTTPProbe?
  let liveness: HTTPProbe?
  let group: EventLoopGroup

  private func seconds(_ value: Double) -> Duration { .milliseconds(Int(value * 1000)) }

  /// Runs the readiness probe, reporting each change of the result, until cancelled. Before the
  /// first success it also probes 50 ms after each failure: a process binds its port within a
  /// moment of starting, and a pod need not wait a whole period to become Ready.
  func runReadiness(onFailure: @Sendable (String) -> Void, setReady: @Sendable (Bool) -> Void) async {
    guard let probe = readiness else { return }
    do { try await Task.sleep(for: seconds(probe.initialDelaySeconds)) } catch { return }
    var ready = false, everReady = false, successes = 0, failures = 0
    while !Task.isCancelled {
      if let failure = await probe.check(group: group, timeout: seconds(probe.timeoutSeconds)) {
        if Task.isCancelled { return }
        successes = 0
        failures += 1
        if everReady { onFailure(failure) }
        if ready && failures >= probe.failureThreshold { ready = false; setReady(false) }
      } else {
        failures = 0
        successes += 1
        if !ready && successes >= probe.successThreshold { ready = true; everReady = true; setReady(true) }
      }
      let pause = everReady ? seconds(probe.periodSeconds) : min(.milliseconds(50), seconds(probe.periodSeconds))
      do { try await Task.sleep(for: max(pause, .milliseconds(50))) } catch { return }
    }
  }

  /// Runs the liveness probe until `failureThreshold` failures in a row (returns the last
  /// failure's reason: the container is to be killed and restarted) or cancellation (nil).
  func runLiveness(onFailure: @Sendable (String) -> Void) async -> String? {
    guard let probe = liveness else { return nil }
    do { try await Task.sleep(for: seconds(probe.initialDelaySeconds)) } catch { return nil }
    var failures = 0
    while !Task.isCancelled {
      if let failure = await probe.check(group: group, timeout: seconds(probe.timeoutSeconds)) {
        if Task.isCancelled { return nil }
        failures += 1
        onFailure(failure)
        if failures >= probe.failureThreshold { return failure }
      } else {
        failures = 0
      }
      do { try await Task.sleep(for: max(seconds(probe.periodSeconds), .milliseconds(50))) } catch { return nil }
    }
    return nil
  }
}
