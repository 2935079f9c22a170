import Foundation
import KubeCore
import KubeEmulator
import Logging
import NIOCore

/// Runs one pod on one simulated node, from sandbox to exit: the kubelet's pod worker
/// (pkg/kubelet/pod_workers.go, kuberuntime_manager.go `SyncPod`).
///
/// Init containers run one at a time, in order, as processes when their command resolves (the
/// executable table, an absolute path, or the host's `PATH`), else they "run" for
/// `simulatedRunSeconds`. A failed init container is restarted with the kubelet's crash-loop
/// back-off unless `restartPolicy` is `Never`, in which case the pod fails. Then the main
/// containers start together:
/// * with `restartPolicy: Always` they are simulated servers that run until the pod is deleted;
///   a Triton serving container is Ready once its model repository holds a model; a container whose
///   `command[0]` is in the executable table (`edgeml drift-agent`) runs as a real process,
///   restarted with back-off when it exits, Ready once its `httpGet` readiness probe answers 2xx;
/// * otherwise (Job pods) a resolvable command runs as a process and anything else exits after
///   `edgesim.edgeml.io/run-seconds` (default `simulatedRunSeconds`) with code
///   `edgesim.edgeml.io/exit-code` (default 0), both pod annotations.
///
/// Cancellation is the pod being stopped: processes get SIGTERM, servers close, nothing more is written.
struct PodWorker: Sendable {
  let pod: JSONValue
  let node: SimulatedNode
  let context: KubeletContext
  let podIP: String

  var api: ClusterAPI { context.api }
  var runtime: Runtime { context.runtime }
  var sandbox: PodSandbox { PodSandbox(root: context.configuration.simRoot, pod: pod, node: node.name) }
  var restartPolicy: String { pod[path: ["spec", "restartPolicy"]]?.stringValue ?? "Always" }

  func run() async {
    let status = PodStatusModel(pod: pod, api: api, hostIP: node.hostIP, podIP: podIP)
    let events = EventRecorder(api: api, component: "kubelet", host: node.name)
    // Volumes: retried until they can be set up (FailedMount), as the volume manager does.
    var reported = false
    while true {
      do {
        try sandbox.prepare(api: api)
        break
      } catch {
        if !reported { status.update { _ in }; reported = true }
        events.record(pod, kind: "Pod", type: "Warning", reason: "FailedMount", message: "MountVolume.SetUp failed: \(error)")
        do { try await Task.sleep(for: runtime.scaled(10)) } catch { return }
      }
    }
    // One write for the sandbox and the first container started (an init container, or the main
    // ones), as the status manager writes what one sync changed: a container starts in the sync
    // that made its sandbox.
    let inits = pod[path: ["spec", "initContainers"]]?.arrayValue ?? []
    status.state.withLock { $0.sandboxReady = true }
    for (index, container) in inits.enumerated() {
      guard await runToSuccess(container, index: index, isInit: true, status: status, events: events) else { return }
    }
    status.state.withLock { $0.initialized = true }   // written with the containers' start
    if Task.isCancelled { return }
    let containers = pod[path: ["spec", "containers"]]?.arrayValue ?? []
    await withDiscardingTaskGroup { group in
      for (index, container) in containers.enumerated() {
        group.addTask {
          if restartPolicy == "Always" {
            await serve(container, index: index, status: status, events: events)
          } else {
            _ = await runToSuccess(container, index: index, isInit: false, status: status, events: events)
          }
        }
      }
    }
    if Task.isCancelled { return }
    // Every main container has terminated (Job pods): the pod's phase follows their exit codes.
    status.update { s in
      s.phase = s.containers.allSatisfy { $0.exitCode == 0 } ? "Succeeded" : "Failed"
    }
  }

  // MARK: run-to-completion containers

  /// Runs a container until it exits 0 (true), restarting with back-off; false when the pod failed or stopped.
  private func runToSuccess(_ container: JSONValue, index: Int, isInit: Bool, status: PodStatusModel, events: EventRecorder) async -> Bool {
    let name = container["name"]?.stringValue ?? ""
    var failures = 0
    while !Task.isCancelled {
      let command: ResolvedCommand
      do {
        command = try resolve(container, restartCount: failures)
      } catch {
        guard await configurationFailed(error, name: name, index: index, isInit: isInit, status: status, events: events) else { return false }
        continue
      }
      let started = rfc3339(Date())
      let containerID = PodStatusModel.newContainerID()
      try? FileManager.default.removeItem(at: command.terminationLog)
      status.update { s in
        setState(&s, isInit: isInit, index: index) {
          $0.state = ["running": ["startedAt": .string(started)]]
          $0.containerID = containerID
          $0.started = true
        }
        if !isInit { s.phase = "Running" }
      }
      events.record(pod, kind: "Pod", reason: "Started", message: "Started container \(name)", fieldPath: fieldPath(isInit, name))
      let exit: ContainerProcess.Exit
      if let process = command.process {
        do {
          exit = try await runMeasured(process, container: name,
                                       grace: runtime.scaled(Double(pod[path: ["spec", "terminationGracePeriodSeconds"]]?.intValue ?? 30)))
        } catch {
          exit = ContainerProcess.Exit(code: 128, signal: nil)
          try? Data("failed to start \(process.executable): \(error)".utf8).write(to: command.terminationLog)
        }
      } else {
        let code = Int32(pod.annotations["edgesim.edgeml.io/exit-code"].flatMap(Int32.init) ?? 0)
        writeSimulatedLog(container, instance: failures, lines: [
          "the command \(commandText(container)) does not resolve to a program on this machine, so no process runs",
          "this container ends after \(simulatedSeconds) simulated seconds with exit code \(code) (pod annotations edgesim.edgeml.io/run-seconds and edgesim.edgeml.io/exit-code)",
        ])
        do { try await Task.sleep(for: runtime.scaled(simulatedSeconds)) } catch { return false }
        exit = ContainerProcess.Exit(code: code, signal: nil)
      }
      if Task.isCancelled { return false }
      let code = exit.signal.map { 128 + Int($0) } ?? Int(exit.code)
      let message = terminationMessage(container, file: command.terminationLog, log: command.process?.logFile, failed: code != 0)
      var terminated: JSONValue = ["exitCode": JSONValue(code), "reason": .string(code == 0 ? "Completed" : "Error"),
                                   "startedAt": .string(started), "finishedAt": .string(rfc3339(Date())), "containerID": .string(containerID)]
      if let signal = exit.signal { terminated["signal"] = JSONValue(Int(signal)) }
      if !message.isEmpty { terminated["message"] = .string(message) }
      let exited: (inout PodStatusModel.State) -> Void = { s in
        setState(&s, isInit: isInit, index: index) { $0.state = ["terminated": terminated]; $0.ready = false }
      }
      if code == 0 && isInit {
        // Written with the next container's start, which follows at once (the next sync): a
        // kubelet's relist sees an init container that exits in milliseconds together with what
        // started after it, and so does the one status write for both.
        status.state.withLock { exited(&$0) }
        return true
      }
      status.update(exited)
      if code == 0 { return true }
      if restartPolicy == "Never" {
        if isInit { status.update { $0.phase = "Failed" } }
        return false
      }
      // CrashLoopBackOff: 10 s, doubling, at most 300 s (pkg/kubelet/kubelet.go backOffPeriod, MaxContainerBackOff).
      failures += 1
      let backOff = min(10 * pow(2, Double(failures - 1)), 300)
      let podRef = "\(pod.name)_\(pod.namespace)(\(pod.uid))"
      status.update { s in
        setState(&s, isInit: isInit, index: index) {
          $0.lastState = ["terminated": terminated]
          $0.state = ["waiting": ["reason": "CrashLoopBackOff",
                                  "message": .string("back-off \(Int(backOff))s restarting failed container=\(name) pod=\(podRef)")]]
          $0.restartCount = failures
        }
      }
      events.record(pod, kind: "Pod", type: "Warning", reason: "BackOff", message: "Back-off restarting failed container \(name) in pod \(podRef)", fieldPath: fieldPath(isInit, name))
      do { try await Task.sleep(for: runtime.scaled(backOff)) } catch { return false }
    }
    return false
  }

  /// Reports a container whose configuration cannot be built (`CreateContainerConfigError`: a
  /// missing Secret or ConfigMap) and waits for the next sync; false when the pod stopped meanwhile.
  private func configurationFailed(_ error: SandboxError, name: String, index: Int, isInit: Bool, status: PodStatusModel,
                                   events: EventRecorder) async -> Bool {
    status.update { s in
      setState(&s, isInit: isInit, index: index) { $0.state = ["waiting": ["reason": "CreateContainerConfigError", "message": .string("\(error)")]] }
    }
    events.record(pod, kind: "Pod", type: "Warning", reason: "Failed", message: "Error: \(error)", fieldPath: fieldPath(isInit, name))
    do { try await Task.sleep(for: runtime.scaled(10)) } catch { return false }
    return true
  }

  private var simulatedSeconds: Double {
    pod.annotations["edgesim.edgeml.io/run-seconds"].flatMap(Double.init) ?? context.configuration.simulatedRunSeconds
  }

  private func fieldPath(_ isInit: Bool, _ name: String) -> String {
    isInit ? "spec.initContainers{\(name)}" : "spec.containers{\(name)}"
  }

  private func setState(_ s: inout PodStatusModel.State, isInit: Bool, index: Int, _ change: (inout PodStatusModel.Container) -> Void) {
    if isInit { if s.initContainers.indices.contains(index) { change(&s.initContainers[index]) } }
    else if s.containers.indices.contains(index) { change(&s.containers[index]) }
  }

  /// The termination message: the file's contents (at most 4096 bytes), or with
  /// `FallbackToLogsOnError` the log's tail when the file is empty and the container failed
  /// (pkg/kubelet/kuberuntime/kuberuntime_container.go `getTerminationMessage`).
  private func terminationMessage(_ container: JSONValue, file: URL, log: URL?, failed: Bool) -> String {
    let limit = 4096
    if let data = try? Data(contentsOf: file), !data.isEmpty { return String(decoding: data.prefix(limit), as: UTF8.self) }
    guard failed, container["terminationMessagePolicy"]?.stringValue == "FallbackToLogsOnError",
          let log, let data = try? Data(contentsOf: log) else { return "" }
    let lines = String(decoding: data.suffix(2048), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).suffix(80)
    return lines.joined(separator: "\n")
  }

  /// Writes what a simulated container stands for into its log, so `kubectl logs` says it plainly.
  private func writeSimulatedLog(_ container: JSONValue, instance: Int, lines: [String]) {
    let name = container["name"]?.stringValue ?? ""
    let image = container["image"]?.stringValue ?? ""
    let file = sandbox.containerDirectory(name).appendingPathComponent("\(instance).log")
    let text = (["edgesim: container \"\(name)\" (image \(image)) is simulated on node \(node.name)"] + lines.map { "edgesim: " + $0 })
      .joined(separator: "\n") + "\n"
    try? FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
    try? Data(text.utf8).write(to: file)
  }

  private func commandText(_ container: JSONValue) -> String {
    let words = ((container["command"]?.arrayValue ?? []) + (container["args"]?.arrayValue ?? [])).compactMap(\.stringValue)
    return words.isEmpty ? "(the image's entrypoint)" : "[\(words.joined(separator: " "))]"
  }

  // MARK: commands

  struct ResolvedCommand {
    var process: ContainerProcess?
    var terminationLog: URL
  }

  /// Builds the process for a container: environment, path rewriting and executable look-up
  /// (docs/edgemodel-contracts.md §4). No command, or one that does not resolve, means "simulated".
  func resolve(_ container: JSONValue, restartCount: Int) throws(SandboxError) -> ResolvedCommand {
    let name = container["name"]?.stringValue ?? ""
    // Secret and ConfigMap volumes follow their objects (the kubelet's periodic volume sync).
    try? sandbox.prepare(api: api)
    let terminationLog = sandbox.terminationMessageFile(container)
    let mounts = mountTable(container)
    try? FileManager.default.createDirectory(at: terminationLog.deletingLastPathComponent(), withIntermediateDirectories: true)
    var env = try ContainerEnvironment.make(container: container, pod: pod, api: api, hostIP: node.hostIP, podIP: podIP)
    env = env.map { ($0.0, PodSandbox.rewrite($0.1, mounts: mounts)) }
    let rawWords = ContainerImage.words(of: container, images: context.configuration.images)
    // Directories that hold mounts without being one (`--root /host` over /host/proc/…) name the
    // container's stand-in root, where each mount is a symbolic link.
    let parents = sandbox.standInRoot(of: container, mounts: mounts)
    let words = rawWords.map { PodSandbox.rewrite(ContainerEnvironment.expand($0, env), mounts: mounts) }
      .map { PodSandbox.rewriteParent($0, parents: parents) }
      // Absolute paths in the executable table stand for programs in the image (trtexec at
      // /usr/src/tensorrt/bin/trtexec): an argument naming one points at its stand-in here.
      .map { $0.hasPrefix("/") ? (context.configuration.executables[$0] ?? $0) : $0 }
      // Service DNS names as cluster DNS and kube-proxy would resolve them (ServiceAddresses).
      .map { ServiceAddresses.rewrite($0, api: api) }
    // A program in one of the pod's volumes (edgeml-engine copied into an emptyDir by an earlier
    // init container) runs from the volume's directory here.
    let inVolume = { (name: String) -> String? in
      let path = PodSandbox.rewrite(name, mounts: mounts)
      return name.hasPrefix("/") && path != name && FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }
    guard let first = rawWords.first, let executable = inVolume(first) ?? context.resolveExecutable(first) else {
      return ResolvedCommand(process: nil, terminationLog: terminationLog)
    }
    // The node's device facts for the trtexec double (contract §3), build time scaled like every duration.
    let kind = node.kind
    var processEnv: [(String, String)] = [
      ("PATH", ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"),
      ("HOSTNAME", pod.name), ("HOME", "/root"),
      ("EDGEML_TRTEXEC_TENSORRT", kind.tensorRT), ("EDGEML_TRTEXEC_COMPUTE", kind.computeCapability),
      ("EDGEML_TRTEXEC_DLA_CORES", String(kind.dlaCores)),
      ("EDGEML_TRTEXEC_BUILD_SECONDS", String(kind.baseBuildSeconds * runtime.speed)),
    ]
    processEnv += Self.inClusterEnvironment(serverAddress: api.server.serverAddress, mounts: mounts)
    processEnv.append((Self.podNetworkAddressVariable, podIP))
    for (k, v) in env {
      if let i = processEnv.firstIndex(where: { $0.0 == k }) { processEnv[i].1 = v } else { processEnv.append((k, v)) }
    }
    let workingDir = container["workingDir"]?.stringValue.map { URL(fileURLWithPath: PodSandbox.rewrite($0, mounts: mounts)) }
    let process = ContainerProcess(
      executable: executable, arguments: Array(words.dropFirst()), environment: processEnv,
      workingDirectory: workingDir ?? sandbox.containerDirectory(name),
      logFile: sandbox.containerDirectory(name).appendingPathComponent("\(restartCount).log"))
    return ResolvedCommand(process: process, terminationLog: terminationLog)
  }

  /// The container's mounts, longest path first, its termination log among them: the kubelet
  /// bind-mounts that file at `terminationMessagePath`, so that path is a mount too.
  func mountTable(_ container: JSONValue) -> [(mountPath: String, host: String)] {
    let messagePath = container["terminationMessagePath"]?.stringValue ?? "/dev/termination-log"
    return (sandbox.mounts(of: container) + [(mountPath: messagePath, host: sandbox.terminationMessageFile(container).path)])
      .sorted { $0.mountPath.count > $1.mountPath.count }
  }

  /// The process `command` is in this container's sandbox (`kubectl exec`): the container's
  /// environment and working directory, mount paths in its words rewritten as for the container's
  /// own command. Only a container that runs as a process can run one.
  /// - Throws: `KubeletError` for a simulated container or a command that does not resolve.
  func execCommand(_ container: JSONValue, command: [String], restartCount: Int) throws(KubeletError) -> ExecCommand {
    let name = container["name"]?.stringValue ?? ""
    let resolved: ResolvedCommand
    do { resolved = try resolve(container, restartCount: restartCount) } catch { throw KubeletError("\(error)") }
    guard let process = resolved.process else {
      throw PodWorker.simulated(name, pod: pod.name)
    }
    let mounts = mountTable(container)
    let words = command.map { PodSandbox.rewrite($0, mounts: mounts) }
    guard let first = words.first, let executable = context.resolveExecutable(first) else {
      // containerd's words for a missing program (runc `exec: "NAME": executable file not found in $PATH`).
      throw KubeletError("exec: \"\(command.first ?? "")\": executable file not found in $PATH")
    }
    var environment: [String: String] = [:]
    for (k, v) in process.environment { environment[k] = v }
    return ExecCommand(executable: executable, arguments: Array(words.dropFirst()), environment: environment,
                       workingDirectory: process.workingDirectory.path, command: command)
  }

  /// The refusal to exec into a container no process runs.
  static func simulated(_ container: String, pod: String) -> KubeletError {
    KubeletError("container \"\(container)\" in pod \"\(pod)\" is simulated by EdgeSim: no process runs it, so there is nothing to exec into " +
                 "(only init containers, containers of pods with restartPolicy Never or OnFailure whose command resolves to a program on this machine, " +
                 "and long-running containers that run a program of the executable table, such as edgeml or edgeml-operator, run as processes)")
  }

  /// What an in-cluster client needs to find the API server from a process in this sandbox.
  ///
  /// The kubelet gives every container the `kubernetes` Service's variables
  /// (pkg/kubelet/kubelet_pods.go `getServiceEnvVarMap`, the master service always among them);
  /// here they name the emulator's real loopback address, since no cluster IP routes to it. With
  /// no mount namespaces, a process cannot find the token at `/var/run/secrets/kubernetes.io/serviceaccount`:
  /// `EDGEML_SERVICE_ACCOUNT_DIR` names the sandbox directory that stands for it, and KubeClient's
  /// in-cluster configuration reads it.
  static func inClusterEnvironment(serverAddress: String, mounts: [(mountPath: String, host: String)]) -> [(String, String)] {
    let port = serverAddress.split(separator: ":").last.map(String.init) ?? "443"
    let host = serverAddress.hasSuffix(":\(port)") ? String(serverAddress.dropLast(port.count + 1)) : serverAddress
    var env = [("KUBERNETES_SERVICE_HOST", host), ("KUBERNETES_SERVICE_PORT", port), ("KUBERNETES_SERVICE_PORT_HTTPS", port),
               ("KUBERNETES_PORT", "tcp://\(serverAddress)")]
    let tokenPath = "/var/run/secrets/kubernetes.io/serviceaccount"
    if let mount = mounts.first(where: { $0.mountPath == tokenPath }) { env.append(("EDGEML_SERVICE_ACCOUNT_DIR", mount.host)) }
    return env
  }

  /// The variable that names the pod's own address to a process in it.
  ///
  /// Every pod on a real node has a network namespace of its own, so two pods can both listen on
  /// `0.0.0.0:8081`; here every process shares this machine's, and the pod's address is a
  /// loopback one (`127.x.y.z`). Our programs bind this address when told to bind the unspecified
  /// one (ControllerRuntime's `HealthServer`), so the kubelet's probes and Prometheus reach each
  /// replica at its pod IP, as on a cluster.
  static let podNetworkAddressVariable = "EDGEML_POD_NETWORK_ADDRESS"

  /// Runs a container's process with its CPU and memory collected for `kubectl top` while it runs.
  private func runMeasured(_ process: ContainerProcess, container: String, grace: Duration) async throws -> ContainerProcess.Exit {
    let metrics = context.metrics
    let key = ResourceMetricsCollector.ContainerKey(podUID: pod.uid, container: container)
    let (podName, nodeName) = (PodName(namespace: pod.namespace, name: pod.name), node.name)
    defer { metrics.stopped(key) }
    return try await process.run(grace: grace) { pid in
      metrics.started(key, .init(pod: podName, node: nodeName, pid: pid, startTime: Date()))
    }
  }

  // MARK: serving containers

  /// A long-running container: Running until the pod stops; Ready at once, or for a Triton
  /// container once a model is in its repository (probed every `readinessProbe.periodSeconds`, default 10 s).
  private func serve(_ container: JSONValue, index: Int, status: PodStatusModel, events: EventRecorder) async {
    let name = container["name"]?.stringValue ?? ""
    if runsAsServerProcess(container) {
      await serveProcess(container, index: index, status: status, events: events)
      return
    }
    let started = rfc3339(Date())
    let triton = TritonContainer(container: container, mounts: sandbox.mounts(of: container))
    status.update { s in
      setState(&s, isInit: false, index: index) {
        $0.state = ["running": ["startedAt": .string(started)]]
        $0.containerID = PodStatusModel.newContainerID()
        $0.started = true
        $0.ready = triton == nil
      }
      s.phase = "Running"
    }
    events.record(pod, kind: "Pod", reason: "Started", message: "Started container \(name)", fieldPath: fieldPath(false, name))
    if let triton {
      writeSimulatedLog(container, instance: 0, lines: [
        "a simulated Triton Inference Server: no process runs; EdgeSim answers /v2/health/ready and /metrics at \(podIP) (ports \(triton.ports.map(String.init).joined(separator: ", ")))",
        "it is Ready once its model repository holds a model, and serves the simulated inference traffic's metrics",
      ])
    } else {
      writeSimulatedLog(container, instance: 0, lines: [
        "a long-running container (restartPolicy Always): no process runs; it stays Running and Ready until the pod is deleted",
      ])
    }
    guard let triton else {
      do { try await Task.sleep(for: .seconds(365 * 86_400 * 100)) } catch {}
      return
    }
    let period = runtime.scaled(Double(container[path: ["readinessProbe", "periodSeconds"]]?.intValue ?? 10))
    var server: TritonEndpoint?
    if context.configuration.servesMetrics {
      let (endpoint, failures) = await context.servers.start(pod: ObjectKey(pod), host: podIP, ports: triton.ports, container: triton,
                                                             kind: node.kind, drift: DriftSidecar(pod: pod))
      server = endpoint
      for failure in failures {
        context.logger.warning("Triton endpoint could not bind", metadata: ["kube.name": "\(pod.name)", "error": "\(failure)"])
        events.record(pod, kind: "Pod", type: "Warning", reason: "PortUnavailable", message: "simulated Triton could not listen: \(failure)")
      }
    }
    defer { if let server { server.close() } }
    var ready = false
    while !Task.isCancelled {
      let now = !triton.models().isEmpty
      if now != ready {
        ready = now
        server?.setReady(now)
        status.update { s in setState(&s, isInit: false, index: index) { $0.ready = now } }
      }
      // Once ready, the probe keeps succeeding while the repository is there; stop probing to save work.
      do { try await Task.sleep(for: ready ? .seconds(365 * 86_400 * 100) : period) } catch { break }
    }
  }

  // MARK: server processes

  /// Whether a long-running container (`restartPolicy: Always`) runs as a process: the first word
  /// it runs — its `command`, else its image's entrypoint — is in the executable table (`edgeml`,
  /// `edgeml-operator`…). Other long-running containers are simulated.
  func runsAsServerProcess(_ container: JSONValue) -> Bool {
    guard let first = ContainerImage.words(of: container, images: context.configuration.images).first else { return false }
    return context.configuration.executables[first] != nil
  }

  /// A long-running container run as a process: Running while it runs; Ready as its readiness
  /// probe (`httpGet` on the pod IP) says, or at once without one; killed and restarted when its
  /// liveness probe fails `failureThreshold` times in a row (a `Killing` Event: "Container C failed
  /// liveness probe, will be restarted", pkg/kubelet/kuberuntime/kuberuntime_manager.go
  /// `computePodActions`); when it exits it is restarted after the crash-loop back-off, as any
  /// container of an `Always` pod (pkg/kubelet/kuberuntime/kuberuntime_container.go, `restartPolicy`).
  private func serveProcess(_ container: JSONValue, index: Int, status: PodStatusModel, events: EventRecorder) async {
    let name = container["name"]?.stringValue ?? ""
    var restarts = 0
    while !Task.isCancelled {
      let command: ResolvedCommand
      do {
        command = try resolve(container, restartCount: restarts)
      } catch {
        guard await configurationFailed(error, name: name, index: index, isInit: false, status: status, events: events) else { return }
        continue
      }
      guard let process = command.process else { return }
      let started = rfc3339(Date())
      let containerID = PodStatusModel.newContainerID()
      let prober = ContainerProber(readiness: HTTPProbe(.readiness, container: container, host: podIP),
                                   liveness: HTTPProbe(.liveness, container: container, host: podIP),
                                   group: context.servers.group)
      status.update { s in
        setState(&s, isInit: false, index: index) {
          $0.state = ["running": ["startedAt": .string(started)]]
          $0.containerID = containerID
          $0.started = true
          $0.ready = prober.readiness == nil
        }
        s.phase = "Running"
      }
      events.record(pod, kind: "Pod", reason: "Started", message: "Started container \(name)", fieldPath: fieldPath(false, name))
      // Wall-clock seconds, not scaled by --speed, like the probes: the process shuts down in real
      // time (the operator releases its Lease on SIGTERM, which a scaled 0.3 s would cut short).
      let grace = Duration.seconds(pod[path: ["spec", "terminationGracePeriodSeconds"]]?.intValue ?? 30)
      let unhealthy: @Sendable (HTTPProbe.Kind, String) -> Void = { kind, reason in
        events.record(pod, kind: "Pod", type: "Warning", reason: "Unhealthy", message: "\(kind.rawValue) probe failed: \(reason)",
                      fieldPath: fieldPath(false, name))
      }
      enum Outcome: Sendable { case exited(ContainerProcess.Exit), livenessFailed }
      let exit: ContainerProcess.Exit? = await withTaskGroup(of: Outcome?.self) { group in
        group.addTask {
          do { return .exited(try await runMeasured(process, container: name, grace: grace)) } catch {
            try? Data("failed to start \(process.executable): \(error)".utf8).write(to: command.terminationLog)
            return .exited(ContainerProcess.Exit(code: 128, signal: nil))
          }
        }
        group.addTask {
          await prober.runReadiness(onFailure: { unhealthy(.readiness, $0) }, setReady: { ready in
            if !Task.isCancelled { status.update { s in setState(&s, isInit: false, index: index) { $0.ready = ready } } }
          })
          return nil
        }
        group.addTask {
          guard await prober.runLiveness(onFailure: { unhealthy(.liveness, $0) }) != nil else { return nil }
          return .livenessFailed
        }
        var result: ContainerProcess.Exit?
        for await value in group {
          switch value {
          case .exited(let e)?:
            result = e
          case .livenessFailed?:
            // Stop the probes and the process (SIGTERM, then SIGKILL after the grace period); its exit follows.
            events.record(pod, kind: "Pod", reason: "Killing", message: "Container \(name) failed liveness probe, will be restarted",
                          fieldPath: fieldPath(false, name))
            status.update { s in setState(&s, isInit: false, index: index) { $0.ready = false } }
            group.cancelAll()
          case nil:
            break
          }
          if result != nil { break }
        }
        group.cancelAll()
        return result
      }
      if Task.isCancelled { return }
      let code = exit.map { $0.signal.map { 128 + Int($0) } ?? Int($0.code) } ?? 0
      restarts += 1
      let backOff = min(10 * pow(2, Double(restarts - 1)), 300)
      let terminated: JSONValue = ["exitCode": JSONValue(code), "reason": .string(code == 0 ? "Completed" : "Error"),
                                   "startedAt": .string(started), "finishedAt": .string(rfc3339(Date())), "containerID": .string(containerID)]
      status.update { s in
        setState(&s, isInit: false, index: index) {
          $0.lastState = ["terminated": terminated]
          $0.state = ["waiting": ["reason": "CrashLoopBackOff", "message": .string("back-off \(Int(backOff))s restarting failed container=\(name)")]]
          $0.ready = false
          $0.restartCount = restarts
        }
      }
      events.record(pod, kind: "Pod", type: "Warning", reason: "BackOff", message: "Back-off restarting failed container \(name)", fieldPath: fieldPath(false, name))
      do { try await Task.sleep(for: runtime.scaled(backOff)) } catch { return }
    }
  }
}
