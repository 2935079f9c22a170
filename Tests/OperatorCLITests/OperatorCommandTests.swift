import ArgumentParser
import Foundation
import KubeCore
import Logging
import OperatorCLI
import Testing

@Suite("edgeml-operator's command layer")
struct OperatorCommandTests {
  @Test("flags a user may pass are accepted", arguments: [
    [],
    ["--leader-elect", "--lease-namespace", "edgeml-system", "--identity", "pod-0"],
    ["--workers", "8", "--qps", "50", "--burst", "100", "--log-format", "json"],
    ["--lease-duration-seconds", "30", "--renew-deadline-seconds", "20", "--retry-period-seconds", "5"],
    ["--metrics-port", "0", "--health-port", "0", "--bind-address", "127.0.0.1", "--builder-image", "registry.local/edgeml:1"],
  ])
  func accepted(_ arguments: [String]) throws {
    _ = try OperatorOptions.parse(arguments)
  }

  @Test("flags the operator cannot run with are refused before anything starts, with a message that names them", arguments: [
    (["--workers", "0"], "--workers must be at least 1."),
    (["--qps", "0"], "--qps and --burst must be positive."),
    (["--burst=-1"], "--qps and --burst must be positive."),
    (["--log-format", "yaml"], "--log-format must be text or json."),
    (["--lease-duration-seconds", "10", "--renew-deadline-seconds", "10"],
     "Leader election needs 0 < --retry-period-seconds < --renew-deadline-seconds < --lease-duration-seconds."),
    (["--retry-period-seconds", "0"],
     "Leader election needs 0 < --retry-period-seconds < --renew-deadline-seconds < --lease-duration-seconds."),
  ])
  func refused(_ arguments: [String], message: String) {
    do {
      _ = try OperatorOptions.parse(arguments)
      Issue.record("accepted \(arguments)")
    } catch {
      #expect(OperatorOptions.message(for: error) == message)
      #expect(OperatorOptions.exitCode(for: error) == .validationFailure)
    }
  }

  @Test("an unknown flag is a usage error, not ignored")
  func unknownFlag() {
    #expect(throws: (any Error).self) { _ = try OperatorOptions.parse(["--kubeconfg", "/tmp/x"]) }
  }

  @Test("a JSON log line is one object per line with time, level, logger, message and the metadata, the call's winning")
  func jsonLogLine() throws {
    var handler = JSONLogHandler(label: "edgeml.operator")
    handler[metadataKey: "controller"] = "edgemodel"
    handler[metadataKey: "kube.name"] = "from-logger"
    let bytes = handler.renderLine(level: .warning, message: "Reconcile failed; retrying with backoff",
                                   metadata: ["kube.name": "detector", "error": "line one\nline \"two\""],
                                   time: Date(timeIntervalSince1970: 1_800_000_000.75))
    #expect(bytes.last == 0x0A)
    #expect(!bytes.dropLast().contains(0x0A))          // a newline in a value does not split the record
    let line = try JSONValue(parsing: Array(bytes.dropLast()))
    #expect(line == [
      "time": "2027-01-15T08:00:00Z", "level": "warning", "logger": "edgeml.operator",
      "msg": "Reconcile failed; retrying with backoff",
      "controller": "edgemodel", "error": "line one\nline \"two\"", "kube.name": "detector",
    ])
    // Keys after the fixed four come in order, so lines diff cleanly.
    let keys = line.objectValue.map { Array($0.keys) } ?? []
    #expect(keys == ["time", "level", "logger", "msg", "controller", "error", "kube.name"])
  }
}
