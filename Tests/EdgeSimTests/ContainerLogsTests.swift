import Foundation
import KubeCore
import KubeEmulator
import Testing
@testable import EdgeSim

/// Which run of a container `kubectl logs` reads, and the kubelet's refusals
/// (pkg/kubelet/kubelet_pods.go `validateContainerLogStatus`).
struct LogInstanceCase: Sendable, CustomTestStringConvertible {
  var label: String
  var status: JSONValue
  var previous: Bool
  var expected: Result<Int, KubeletError>
  var testDescription: String { label }
}

@Suite("Container logs")
struct ContainerLogsTests {
  static func pod(_ status: JSONValue) -> JSONValue {
    ["metadata": ["name": "p"], "status": ["containerStatuses": [status]]]
  }

  @Test("kubectl logs reads the run the kubelet would", arguments: [
    LogInstanceCase(label: "running, first run", status: ["name": "c", "restartCount": 0, "state": ["running": [:]]], previous: false, expected: .success(0)),
    LogInstanceCase(label: "running after two restarts", status: ["name": "c", "restartCount": 2, "state": ["running": [:]], "lastState": ["terminated": ["exitCode": 1]]], previous: false, expected: .success(2)),
    LogInstanceCase(label: "previous after two restarts", status: ["name": "c", "restartCount": 2, "state": ["running": [:]], "lastState": ["terminated": ["exitCode": 1]]], previous: true, expected: .success(1)),
    LogInstanceCase(label: "crash-looping: the last run", status: ["name": "c", "restartCount": 1, "state": ["waiting": ["reason": "CrashLoopBackOff"]], "lastState": ["terminated": ["exitCode": 1]]], previous: false, expected: .success(0)),
    LogInstanceCase(label: "terminated without restarts", status: ["name": "c", "restartCount": 0, "state": ["terminated": ["exitCode": 0]]], previous: false, expected: .success(0)),
    LogInstanceCase(label: "no previous run", status: ["name": "c", "restartCount": 0, "state": ["running": [:]]], previous: true,
                    expected: .failure(KubeletError("previous terminated container \"c\" in pod \"p\" not found"))),
    LogInstanceCase(label: "never started", status: ["name": "c", "restartCount": 0, "state": ["waiting": ["reason": "PodInitializing"]]], previous: false,
                    expected: .failure(KubeletError("container \"c\" in pod \"p\" is waiting to start: PodInitializing"))),
  ])
  func instance(_ c: LogInstanceCase) {
    let got: Result<Int, KubeletError> = Result { () throws(KubeletError) in try ContainerLogs.instance(pod: Self.pod(c.status), container: "c", previous: c.previous) }
    #expect(got == c.expected)
  }

  @Test("--tail keeps the last lines, a last line without a newline counting as one", arguments: [
    ("a\nb\nc\n", 2, "b\nc\n"), ("a\nb\nc", 2, "b\nc"), ("a\nb\n", 5, "a\nb\n"), ("a\nb\n", 0, ""), ("", 3, ""),
  ])
  func tail(_ text: String, _ lines: Int, _ expected: String) {
    #expect(String(decoding: ContainerLogs.lastLines(Array(text.utf8), lines), as: UTF8.self) == expected)
  }
}
