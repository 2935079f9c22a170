import Foundation
import KubeCore
import KubeEmulator

/// The kubelets' `/containerLogs`: what each container of an EdgeSim pod wrote, for `pods/log`.
///
/// A container's log is `pods/<uid>/containers/<name>/<restartCount>.log` under the sim root: the
/// output of a container run as a process, or, for a simulated one, the lines EdgeSim writes to say
/// what it stands in for. Which instance is read follows the kubelet (pkg/kubelet/kubelet_pods.go
/// `validateContainerLogStatus`): the running or terminated one, else the last terminated one;
/// `previous` the one before; a container that never started has no log, and the error says why.
struct ContainerLogs {
  let root: URL
  let runtime: Runtime
  /// How often a followed log looks for more output.
  static let followInterval: Duration = .milliseconds(100)

  func containerLog(pod: JSONValue, container: String, options: ContainerLogOptions) throws(KubeletError) -> ResponseStream {
    let sandbox = PodSandbox(root: root, pod: pod, node: pod.nodeName)
    let instance = try Self.instance(pod: pod, container: container, previous: options.previous)
    let file = sandbox.containerDirectory(container).appendingPathComponent("\(instance).log")
    let data = (try? Data(contentsOf: file)) ?? Data()
    var bytes = Array(data)
    if let tail = options.tailLines { bytes = Self.lastLines(bytes, tail) }
    let stream = ResponseStream()
    if let limit = options.limitBytes, bytes.count >= limit {
      stream.write(Array(bytes.prefix(limit)))
      stream.finish()
      return stream
    }
    if !bytes.isEmpty { stream.write(bytes) }
    guard options.follow, !options.previous else { stream.finish(); return stream }
    follow(file, from: UInt64(data.count), pod: pod, container: container, instance: instance,
           sent: bytes.count, limit: options.limitBytes, into: stream)
    return stream
  }

  /// Sends what the container writes after `offset` until it stops running, the pod goes, or the
  /// client does.
  private func follow(_ file: URL, from offset: UInt64, pod: JSONValue, container: String, instance: Int,
                      sent: Int, limit: Int?, into stream: ResponseStream) {
    let api = ClusterAPI(server: runtimeServer, component: "node:kubelet")
    runtime.spawn {
      var offset = offset, sent = sent
      while !stream.isCancelled {
        // Read what is there before deciding the container is done, so its last words are sent.
        let current = api.get(Keys.pods, namespace: pod.namespace, name: pod.name)
        if let handle = try? FileHandle(forReadingFrom: file) {
          try? handle.seek(toOffset: offset)
          if let more = try? handle.readToEnd(), !more.isEmpty {
            var chunk = Array(more)
            offset += UInt64(chunk.count)
            if let limit, sent + chunk.count >= limit { chunk = Array(chunk.prefix(limit - sent)); stream.write(chunk); break }
            sent += chunk.count
            stream.write(chunk)
          }
          try? handle.close()
        }
        guard let current, current.uid == pod.uid, Self.isRunning(current, container: container, instance: instance) else { break }
        do { try await Task.sleep(for: Self.followInterval) } catch { break }
      }
      stream.finish()
    }
  }

  /// The server the followed pods are read from.
  let runtimeServer: APIServer

  /// Whether instance `instance` of the container is still the one running.
  static func isRunning(_ pod: JSONValue, container: String, instance: Int) -> Bool {
    guard let status = containerStatus(pod, container) else { return false }
    return status[path: ["state", "running"]] != nil && (status["restartCount"]?.intValue ?? 0) == instance
  }

  static func containerStatus(_ pod: JSONValue, _ container: String) -> JSONValue? {
    for field in ["initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"] {
      if let s = (pod[path: ["status", field]]?.arrayValue ?? []).first(where: { $0["name"]?.stringValue == container }) { return s }
    }
    return nil
  }

  /// Which run of the container a request reads (its log file number), or the kubelet's refusal
  /// (`validateContainerLogStatus`, in its words).
  static func instance(pod: JSONValue, container: String, previous: Bool) throws(KubeletError) -> Int {
    let podName = pod.name
    guard let status = containerStatus(pod, container) else {
      throw KubeletError("container \"\(container)\" in pod \"\(podName)\" is waiting to start: ContainerCreating")
    }
    let restarts = status["restartCount"]?.intValue ?? 0
    let lastTerminated = status[path: ["lastState", "terminated"]] != nil
    if previous {
      guard lastTerminated, restarts > 0 else {
        throw KubeletError("previous terminated container \"\(container)\" in pod \"\(podName)\" not found")
      }
      return restarts - 1
    }
    if status[path: ["state", "running"]] != nil || status[path: ["state", "terminated"]] != nil { return restarts }
    if lastTerminated && restarts > 0 { return restarts - 1 }
    let reason = status[path: ["state", "waiting", "reason"]]?.stringValue
    guard let reason else {
      throw KubeletError("container \"\(container)\" in pod \"\(podName)\" is waiting to start - no logs yet")
    }
    throw KubeletError("container \"\(container)\" in pod \"\(podName)\" is waiting to start: \(reason)")
  }

  /// The last `count` lines of `bytes` (a final line without a newline counts).
  static func lastLines(_ bytes: [UInt8], _ count: Int) -> [UInt8] {
    guard count > 0 else { return [] }
    var end = bytes.count
    if end > 0 && bytes[end - 1] == UInt8(ascii: "\n") { end -= 1 }
    var seen = 0
    var i = end
    while i > 0 {
      if bytes[i - 1] == UInt8(ascii: "\n") {
        seen += 1
        if seen == count { return Array(bytes[i...]) }
      }
      i -= 1
    }
    return bytes
  }
}

extension Kubelet: KubeletConnection {
  func containerLog(pod: JSONValue, container: String, options: ContainerLogOptions) throws(KubeletError) -> ResponseStream {
    try ContainerLogs(root: context.configuration.simRoot, runtime: context.runtime, runtimeServer: api.server)
      .containerLog(pod: pod, container: container, options: options)
  }

  /// `kubectl exec`: a command in the sandbox of a running container that runs as a process.
  func exec(pod: JSONValue, container: String, command: [String]) throws(KubeletError) -> ExecCommand {
    guard let node = nodes[pod.nodeName], !isFailed(node.name) else {
      throw KubeletError("node \(pod.nodeName) is not ready: its kubelet does not answer")
    }
    // The kubelet finds only running containers (pkg/kubelet/kubelet_pods.go `findContainer`, in its words).
    guard let status = ContainerLogs.containerStatus(pod, container), status[path: ["state", "running"]] != nil else {
      throw KubeletError("container not found (\"\(container)\")")
    }
    let spec = ["initContainers", "containers"].lazy.compactMap { field in
      (pod[path: ["spec", field]]?.arrayValue ?? []).first { $0["name"]?.stringValue == container }.map { ($0, field == "initContainers") }
    }.first
    guard let (containerSpec, isInit) = spec else { throw KubeletError("container not found (\"\(container)\")") }
    let restartPolicy = pod[path: ["spec", "restartPolicy"]]?.stringValue ?? "Always"
    let worker = PodWorker(pod: pod, node: node, context: context, podIP: pod[path: ["status", "podIP"]]?.stringValue ?? "")
    guard isInit || restartPolicy != "Always" || worker.runsAsServerProcess(containerSpec) else {
      throw PodWorker.simulated(container, pod: pod.name)
    }
    return try worker.execCommand(containerSpec, command: command, restartCount: status["restartCount"]?.intValue ?? 0)
  }
}
