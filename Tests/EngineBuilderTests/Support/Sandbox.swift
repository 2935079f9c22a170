import Foundation
import KubeCore
import Testing

/// A temporary directory per test, removed with the last reference, plus the built binaries and
/// helpers to run them.
final class Sandbox: Sendable {
  let root: String

  init() throws {
    root = FileManager.default.temporaryDirectory.appendingPathComponent("edgeml-engine-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: root) }

  func path(_ name: String) -> String { "\(root)/\(name)" }

  @discardableResult
  func write(_ name: String, _ bytes: [UInt8]) throws -> String {
    let p = path(name)
    try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: p))
    return p
  }

  func read(_ name: String) -> [UInt8]? { FileManager.default.contents(atPath: path(name)).map([UInt8].init) }
  func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

  /// The directory holding the built products (`.build/debug`): next to the test bundle, or found
  /// from this file's path.
  static let productsDirectory: String = {
    let fromFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/debug").path
    let candidates: [String?] = [Bundle.main.executableURL?.deletingLastPathComponent().path,
                                 Bundle.main.bundleURL.deletingLastPathComponent().path, fromFile]
    let found = candidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: "\($0)/trtexec-double") }
    return found ?? fromFile
  }()
  static var trtexecDouble: String { "\(productsDirectory)/trtexec-double" }
  static var edgeml: String { "\(productsDirectory)/edgeml" }
  static var edgemlEngine: String { "\(productsDirectory)/edgeml-engine" }

  /// A `trtexec` that counts its build invocations (`--onnx=…`) in `builds.count`, then runs the double.
  func countingTrtexec() throws -> String {
    let script = """
      #!/bin/sh
      case " $* " in *" --onnx="*) echo build >> '\(path("builds.count"))';; esac
      exec '\(Sandbox.trtexecDouble)' "$@"

      """
    let p = try write("trtexec", Array(script.utf8))
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: p)
    return p
  }
  var buildCount: Int { read("builds.count").map { String(decoding: $0, as: UTF8.self).split(separator: "\n").count } ?? 0 }

  struct Output {
    var status: Int32
    var stdout: String
    var stderr: String
    var stdoutLines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty } }
  }

  /// Runs a program to completion; output goes through files so no pipe can fill up.
  func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> Output {
    let id = UUID().uuidString.prefix(8)
    let out = path("run-\(id).out"), err = path("run-\(id).err")
    _ = FileManager.default.createFile(atPath: out, contents: nil)
    _ = FileManager.default.createFile(atPath: err, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("EDGEML_TRTEXEC_") }
    env.merge(environment) { $1 }
    process.environment = env
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
    let status = try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int32, Error>) in
      process.terminationHandler = { c.resume(returning: $0.terminationStatus) }
      do { try process.run() } catch { process.terminationHandler = nil; c.resume(throwing: error) }
    }
    let text = { (p: String) in String(decoding: FileManager.default.contents(atPath: p) ?? Data(), as: UTF8.self) }
    return Output(status: status, stdout: text(out), stderr: text(err))
  }

  func trtexec(_ arguments: [String], environment: [String: String] = [:]) async throws -> Output {
    try await run(Sandbox.trtexecDouble, arguments, environment: environment)
  }

  /// Reads the termination message JSON as an object.
  func result(_ name: String = "termination-log") throws -> JSONObject {
    let bytes = try #require(read(name), "no termination message at \(name)")
    guard case .object(let object) = try JSONParser.parse(bytes) else { throw CancellationError() }
    return object
  }
}

extension JSONObject {
  func string(_ key: String) -> String? { if case .string(let s)? = self[key] { return s } else { return nil } }
  func bool(_ key: String) -> Bool? { if case .bool(let b)? = self[key] { return b } else { return nil } }
  func double(_ key: String) -> Double? { if case .number(let n)? = self[key] { return n.double } else { return nil } }
}
