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
    ["--metrics-bind-address", "0", "--health-port", "0", "--bind-address", "127.0.0.1", "--builder-image", "registry.local/edgeml:1"],
    // kubebuilder v4's metrics flags.
    ["--metrics-bind-address", ":8443", "--metrics-secure=true", "--metrics-cert-path", "/tmp/certs", "--metrics-cert-name", "tls.crt",
     "--metrics-cert-key", "tls.key"],
    ["--metrics-bind-address=127.0.0.1:8080", "--metrics-secure=false"],
    ["--metrics-bind-address", "[::1]:8443"],
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
    (["--metrics-bind-address", "8443"], "--metrics-bind-address \"8443\": expected :PORT or HOST:PORT (0 disables the metrics server)."),
    (["--metrics-bind-address", ":99999"], "--metrics-bind-address \":99999\": expected :PORT or HOST:PORT (0 disables the metrics server)."),
    (["--metrics-bind-address", ":8081"],
     "--metrics-bind-address and --health-port name the same port 8081: the health probes stay plain HTTP on their own port."),
    (["--metrics-secure=false", "--metrics-cert-path", "/tmp/certs"], "--metrics-cert-path needs --metrics-secure (a certificate is only used for HTTPS)."),
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

  @Test("--metrics-bind-address reads like kubebuilder's: :PORT is every address, 0 turns metrics off", arguments: [
    (":8443", "0.0.0.0", 8443), ("127.0.0.1:9443", "127.0.0.1", 9443), ("[::1]:8443", "::1", 8443), ("localhost:0", "localhost", 0),
  ])
  func bindAddress(_ text: String, host: String, port: Int) throws {
    let parsed = try #require(try OperatorOptions.parseBindAddress(text))
    #expect(parsed.host == host && parsed.port == port)
    #expect(try OperatorOptions.parseBindAddress("0") == nil)
  }

  @Test("--metrics-secure takes true or false and nothing else")
  func metricsSecureValue() {
    #expect(throws: (any Error).self) { _ = try OperatorOptions.parse(["--metrics-secure=maybe"]) }
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

@Suite("--builder-images")
struct BuilderImagesOptionTests {
  func scratch() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("builder-images-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }

  @Test("a mounted ConfigMap: one file per release, the volume's own ..data entries skipped")
  func configMapDirectory() throws {
    let dir = try scratch()
    // What the kubelet writes: the keys are symlinks into a timestamped ..data directory.
    try FileManager.default.createDirectory(atPath: dir + "/..2026_12_06_12_00_00.1", withIntermediateDirectories: true)
    try "nvcr.io/nvidia/l4t-jetpack:r36.4.0\n".write(toFile: dir + "/..2026_12_06_12_00_00.1/36.4", atomically: true, encoding: .utf8)
    try FileManager.default.createSymbolicLink(atPath: dir + "/..data", withDestinationPath: "..2026_12_06_12_00_00.1")
    try FileManager.default.createSymbolicLink(atPath: dir + "/36.4", withDestinationPath: "..data/36.4")
    #expect(try OperatorOptions.readBuilderImages(dir) == ["36.4": "nvcr.io/nvidia/l4t-jetpack:r36.4.0"])
  }

  @Test("a file of RELEASE=IMAGE lines, and what is refused")
  func linesFile() throws {
    let dir = try scratch()
    try "# JetPack 6.1/6.2\n36.4 = nvcr.io/nvidia/l4t-jetpack:r36.4.0\n\n35.4=nvcr.io/nvidia/l4t-jetpack:r35.4.1\n".write(toFile: dir + "/t", atomically: true, encoding: .utf8)
    #expect(try OperatorOptions.readBuilderImages(dir + "/t") == ["36.4": "nvcr.io/nvidia/l4t-jetpack:r36.4.0", "35.4": "nvcr.io/nvidia/l4t-jetpack:r35.4.1"])
    for (text, message) in [("36.4 nvcr.io/x\n", "t:1: expected RELEASE=IMAGE"), ("r36=nvcr.io/x\n", "\"r36\" is not an L4T release"),
                            ("36.4=\n", "the image for 36.4 is empty")] {
      try text.write(toFile: dir + "/t", atomically: true, encoding: .utf8)
      #expect { try OperatorOptions.readBuilderImages(dir + "/t") } throws: { "\($0)".contains(message) }
    }
    #expect { try OperatorOptions.readBuilderImages(dir + "/absent") } throws: { "\($0)".contains("absent: file not found") }
  }
}
