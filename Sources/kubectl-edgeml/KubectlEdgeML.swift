import ArgumentParser
import EdgeML
import Foundation
import KubeClient
import KubeCore

/// `kubectl edgeml`: the manual gates of a Rollout and its status, as a kubectl plugin (kubectl
/// runs any `kubectl-edgeml` on PATH for `kubectl edgeml …`; docs/rollouts.md).
@main
struct KubectlEdgeML: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kubectl edgeml",
    abstract: "Manual gates and status of edgeml.io Rollouts.",
    discussion: "Gates are written to the Rollout's status subresource, which GitOps tools do not own; the controller acts on them.",
    subcommands: [Status.self, Promote.self, Abort.self, Pause.self, Resume.self, Retry.self])
}

/// kubectl's usual connection flags.
struct Connection: ParsableArguments {
  @Option(help: "Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).") var kubeconfig: String?
  @Option(help: "The kubeconfig context to use.") var context: String?
  @Option(name: [.short, .long], help: "Namespace of the Rollout (default: the context's).") var namespace: String?

  func client() throws -> (KubeClient, namespace: String, user: String?) {
    let config = try Kubeconfig.load(explicitPath: kubeconfig)
    let resolved = try ClientConfiguration.from(config, context: context, namespace: namespace)
    let user = (context ?? config.currentContext).flatMap { config.contexts[$0]?.user }
    return (try KubeClient(configuration: resolved), resolved.namespace, user)
  }
}

struct Status: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Show where a Rollout is, what it waits for and what decided.")
  @OptionGroup var connection: Connection
  @Argument(help: "The Rollout.") var name: String

  func run() async throws {
    let (client, namespace, _) = try connection.client()
    defer { client.shutdown() }
    print(RolloutGate.describe(try await fetch(client, namespace: namespace, name: name)))
  }
}

/// One gate: write the request, then wait a little for the controller's answer.
protocol GateCommand: AsyncParsableCommand {
  static var action: RolloutAction { get }
  var connection: Connection { get }
  var name: String { get }
  var wait: Int { get }
  var full: Bool { get }
}

extension GateCommand {
  var full: Bool { false }

  func run() async throws {
    let (client, namespace, user) = try connection.client()
    defer { client.shutdown() }
    // The request's time, to the microsecond, is what identifies the answer to it in lastRequest.
    let now = Date().timeIntervalSince1970
    let at = Timestamp(secondsSinceEpoch: Int64(now), nanoseconds: Int32(now.truncatingRemainder(dividingBy: 1) * 1e9)).rfc3339Micro
    // Who asked: the local user and the kubeconfig user they acted as.
    let local = ProcessInfo.processInfo.environment["USER"]
    let by = [local, user.map { local == nil ? $0 : "(\($0))" }].compactMap { $0 }.joined(separator: " ")
    let body = RolloutGate.request(Self.action, full: full, by: by, at: at)
    do {
      _ = try await client.patch(Rollout.resource, namespace: namespace, name: name, body, type: .merge, subresource: "status")
    } catch let e as KubeAPIError {
      throw ValidationError("Error from server (\(e.reason)): \(e.message)")
    }
    print("rollout.edgeml.io/\(name) \(Self.action.rawValue)\(full ? " --full" : "") requested")
    let deadline = Date().addingTimeInterval(TimeInterval(wait))
    while Date() < deadline {
      if let outcome = RolloutGate.outcome(of: try await fetch(client, namespace: namespace, name: name), requestedAt: at) {
        print("controller: \(outcome)")
        if outcome.hasPrefix("ignored") { throw ExitCode(3) }
        return
      }
      try await Task.sleep(for: .milliseconds(200))
    }
    if wait > 0 { print("the controller has not acted on it yet (is the operator running?): `kubectl edgeml status \(name)` shows when it does") }
  }
}

func fetch(_ client: KubeClient, namespace: String, name: String) async throws -> Rollout {
  do {
    return try Rollout(json: try await client.get(Rollout.resource, namespace: namespace, name: name))
  } catch let e as KubeAPIError {
    throw ValidationError("Error from server (\(e.reason)): \(e.message)")
  }
}

struct Promote: GateCommand {
  static let configuration = CommandConfiguration(abstract: "Skip the step in progress (a pause, an analysis, a wait); --full skips every step left.")
  static let action = RolloutAction.promote
  @OptionGroup var connection: Connection
  @Argument(help: "The Rollout.") var name: String
  @Flag(help: "Promote now: skip every remaining step.") var full = false
  @Option(help: "Seconds to wait for the controller's answer (0: do not wait).") var wait = 10
}

struct Abort: GateCommand {
  static let configuration = CommandConfiguration(abstract: "Return all traffic to the stable model and stop.")
  static let action = RolloutAction.abort
  @OptionGroup var connection: Connection
  @Argument(help: "The Rollout.") var name: String
  @Option(help: "Seconds to wait for the controller's answer (0: do not wait).") var wait = 10
}

struct Pause: GateCommand {
  static let configuration = CommandConfiguration(abstract: "Hold the rollout at its current step.")
  static let action = RolloutAction.pause
  @OptionGroup var connection: Connection
  @Argument(help: "The Rollout.") var name: String
  @Option(help: "Seconds to wait for the controller's answer (0: do not wait).") var wait = 10
}

struct Resume: GateCommand {
  static let configuration = CommandConfiguration(abstract: "Continue after a pause (a manual one, an indefinite pause step, or an inconclusive analysis).")
  static let action = RolloutAction.resume
  @OptionGroup var connection: Connection
  @Argument(help: "The Rollout.") var name: String
  @Option(help: "Seconds to wait for the controller's answer (0: do not wait).") var wait = 10
}

struct Retry: GateCommand {
  static let configuration = CommandConfiguration(abstract: "Start an aborted rollout again from its first step.")
  static let action = RolloutAction.retry
  @OptionGroup var connection: Connection
  @Argument(help: "The Rollout.") var name: String
  @Option(help: "Seconds to wait for the controller's answer (0: do not wait).") var wait = 10
}
