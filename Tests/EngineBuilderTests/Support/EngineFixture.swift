import Foundation

/// One `edgeml-engine` setup in a sandbox: a model file, a counting trtexec, the standard flags.
struct EngineFixture {
  let box: Sandbox
  let model: [UInt8]
  let modelPath: String
  let trtexec: String
  let key = "sha256:" + String(repeating: "ab", count: 32)

  init(model: [UInt8] = ONNXFixture.model()) throws {
    box = try Sandbox()
    self.model = model
    modelPath = try box.write("src/model.onnx", model)
    trtexec = try box.countingTrtexec()
  }

  var keyHex: String { String(key.dropFirst(7)) }
  var cachedPlan: String { box.path("cache/\(keyHex).plan") }

  /// The contract's flags for a file:// fp16 build with the Triton layout; `overrides` replace or add flags.
  func arguments(_ overrides: [String: String?] = [:], flags: [String] = []) -> [String] {
    var options: [(String, String?)] = [
      ("--model-uri", "file://\(modelPath)"), ("--model-digest", ONNXFixture.sha256(model)), ("--precision", "fp16"),
      ("--key", key), ("--cache-dir", box.path("cache")), ("--output-dir", box.path("models")),
      ("--model-name", "detector"), ("--model-version", "1"), ("--layout", "triton"),
      ("--trtexec", trtexec), ("--termination-log", box.path("termination-log")),
    ]
    for (flag, value) in overrides {
      if let i = options.firstIndex(where: { $0.0 == flag }) { options[i].1 = value } else { options.append((flag, value)) }
    }
    return options.flatMap { flag, value in value.map { [flag, $0] } ?? [] } + flags
  }

  func run(_ overrides: [String: String?] = [:], flags: [String] = [], environment: [String: String] = [:]) async throws -> Sandbox.Output {
    try await box.run(Sandbox.edgemlEngine, arguments(overrides, flags: flags), environment: environment)
  }
}
