import Foundation
import KubeCore

/// A serving container recognised as Triton Inference Server: image or command names
/// `tritonserver`. Knows where its model repository is on this machine and which ports it serves.
struct TritonContainer: Sendable {
  /// The model repository directory (after path rewriting).
  let repository: URL
  /// HTTP and metrics ports (Triton's defaults 8000 and 8002, shared/reference/jetson/triton.md §3).
  let ports: [Int]
  /// The latency summaries' quantiles when `--metrics-config summary_latencies=true`, else nil
  /// (Triton's metrics.md: summaries are off by default; the default quantiles are those of its
  /// example, 0.5, 0.9, 0.95, 0.99 and 0.999, changed with `summary_quantiles="<q>:<error>,…"`).
  let summaryQuantiles: [Double]?

  init?(container: JSONValue, mounts: [(mountPath: String, host: String)]) {
    let words = ((container["command"]?.arrayValue ?? []) + (container["args"]?.arrayValue ?? [])).compactMap(\.stringValue)
    let image = container["image"]?.stringValue ?? ""
    guard image.contains("tritonserver") || words.contains(where: { $0.hasSuffix("tritonserver") }) else { return nil }
    var repo: String?
    var metricsConfig: [String: String] = [:]
    for (i, w) in words.enumerated() {
      let setting = w.hasPrefix("--metrics-config=") ? String(w.dropFirst("--metrics-config=".count))
        : (w == "--metrics-config" && i + 1 < words.count ? words[i + 1] : nil)
      if let setting, let eq = setting.firstIndex(of: "=") {
        metricsConfig[String(setting[..<eq])] = String(setting[setting.index(after: eq)...]).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
      }
      for flag in ["--model-repository", "--model-store"] {
        if w.hasPrefix(flag + "=") { repo = String(w.dropFirst(flag.count + 1)) }
        else if w == flag, i + 1 < words.count { repo = words[i + 1] }
      }
    }
    if let r = repo { repository = URL(fileURLWithPath: PodSandbox.rewrite(r, mounts: mounts)) }
    else if let first = mounts.last { repository = URL(fileURLWithPath: first.host) }
    else { return nil }
    let declared = (container["ports"]?.arrayValue ?? []).compactMap { $0["containerPort"]?.intValue }
    ports = declared.isEmpty ? [8000, 8002] : declared.filter { $0 != 8001 }
    if metricsConfig["summary_latencies"] == "true" {
      let custom = (metricsConfig["summary_quantiles"] ?? "").split(separator: ",")
        .compactMap { $0.split(separator: ":").first.flatMap { Double($0) } }.filter { (0...1).contains($0) }
      summaryQuantiles = custom.isEmpty ? [0.5, 0.9, 0.95, 0.99, 0.999] : custom
    } else {
      summaryQuantiles = nil
    }
  }

  /// Models present in the repository with the version Triton would serve (the highest numeric
  /// version directory; Triton's default version policy `latest { num_versions: 1 }`).
  func models() -> [TritonModel] {
    let fm = FileManager.default
    guard let names = try? fm.contentsOfDirectory(atPath: repository.path) else { return [] }
    var out: [TritonModel] = []
    for name in names.sorted() where !name.hasPrefix(".") {
      let dir = repository.appendingPathComponent(name)
      let entries = (try? fm.contentsOfDirectory(atPath: dir.path)) ?? []
      let versions = entries.compactMap(Int.init).filter { v in
        !((try? fm.contentsOfDirectory(atPath: dir.appendingPathComponent(String(v)).path)) ?? []).isEmpty
      }
      guard let version = versions.max() else { continue }
      out.append(TritonModel(name: name, version: String(version)))
    }
    return out
  }
}

struct TritonModel: Sendable, Hashable {
  var name: String
  var version: String
}
