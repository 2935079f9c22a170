import Foundation

/// The `edgeml sim` spellings of a load and a variant behaviour: comma-separated `key=value` pairs
/// (a value may itself hold `=`, as in `label=edgeml.io/track=candidate`).
extension ModelLoad {
  /// Parses `model=NAME,rps=R[,namespace=NS][,header=NAME:VALUE:FRACTION]…[,entry=KIND/NAME]`;
  /// KIND is `service`, `traefikservice`, `httproute` or `ingress`.
  /// - Throws: `EdgeSimError.invalidTrafficSpec` naming the bad pair.
  public init(parsing text: String) throws(EdgeSimError) {
    var model: String?, rate: Double?, namespace = "default", headers: [HeaderShare] = [], entry = EntryPoint.automatic
    for (key, value) in try pairs(text) {
      switch key {
      case "model": model = value
      case "namespace": namespace = value
      case "rps":
        guard let r = Double(value), r >= 0, r.isFinite else { throw .invalidTrafficSpec("rps=\(value) is not a rate >= 0") }
        rate = r
      case "header":
        let parts = value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, !parts[0].isEmpty, let f = Double(parts[2]), (0...1).contains(f) else {
          throw .invalidTrafficSpec("header=\(value) is not NAME:VALUE:FRACTION with FRACTION in [0, 1]")
        }
        headers.append(HeaderShare(name: parts[0], value: parts[1], fraction: f))
      case "entry":
        let parts = value.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw .invalidTrafficSpec("entry=\(value) is not KIND/NAME") }
        switch parts[0].lowercased() {
        case "service": entry = .service(parts[1])
        case "traefikservice": entry = .traefikService(parts[1])
        case "httproute": entry = .httpRoute(parts[1])
        case "ingress": entry = .ingress(parts[1])
        default: throw .invalidTrafficSpec("entry kind \(parts[0]) is not service, traefikservice, httproute or ingress")
        }
      default: throw .invalidTrafficSpec("unknown key \(key) (model, rps, namespace, header, entry)")
      }
    }
    guard let model, let rate else { throw .invalidTrafficSpec("\(text): model= and rps= are required") }
    guard headers.reduce(0, { $0 + $1.fraction }) <= 1 + 1e-9 else { throw .invalidTrafficSpec("\(text): header fractions add up to more than 1") }
    self.init(namespace: namespace, model: model, requestsPerSecond: rate, headers: headers, entryPoint: entry)
  }
}

extension VariantBehaviour {
  /// Parses `[model=M][,version=V][,label=KEY=VALUE]…,latencyMs=MEDIAN[,p99Ms=P99][,errorRate=E][,queueFraction=Q]`;
  /// the p99 defaults to twice the median, the error rate to 0.
  /// - Throws: `EdgeSimError.invalidTrafficSpec` naming the bad pair.
  public init(parsing text: String) throws(EdgeSimError) {
    var model: String?, version: String?, labels: [String: String] = [:]
    var median: Double?, p99: Double?, errorRate = 0.0, queue = 0.05
    func number(_ key: String, _ value: String, _ range: ClosedRange<Double>) throws(EdgeSimError) -> Double {
      guard let d = Double(value), range.contains(d) else { throw .invalidTrafficSpec("\(key)=\(value) is not in \(range)") }
      return d
    }
    for (key, value) in try pairs(text) {
      switch key {
      case "model": model = value
      case "version": version = value
      case "label":
        let kv = value.split(separator: "=", maxSplits: 1).map(String.init)
        guard kv.count == 2, !kv[0].isEmpty else { throw .invalidTrafficSpec("label=\(value) is not KEY=VALUE") }
        labels[kv[0]] = kv[1]
      case "latencyMs", "medianMs": median = try number(key, value, 0...3_600_000)
      case "p99Ms": p99 = try number(key, value, 0...3_600_000)
      case "errorRate": errorRate = try number(key, value, 0...1)
      case "queueFraction": queue = try number(key, value, 0...1)
      default: throw .invalidTrafficSpec("unknown key \(key) (model, version, label, latencyMs, p99Ms, errorRate, queueFraction)")
      }
    }
    guard let median else { throw .invalidTrafficSpec("\(text): latencyMs= is required") }
    if let p99, p99 < median { throw .invalidTrafficSpec("\(text): p99Ms is below latencyMs (the median)") }
    self.init(model: model, version: version, podLabels: labels,
              latency: LatencyDistribution(medianMilliseconds: median, p99Milliseconds: p99 ?? 2 * median),
              errorRate: errorRate, queueFraction: queue)
  }
}

private func pairs(_ text: String) throws(EdgeSimError) -> [(String, String)] {
  var out: [(String, String)] = []
  for part in text.split(separator: ",") {
    let kv = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
    guard kv.count == 2, !kv[0].isEmpty else { throw .invalidTrafficSpec("\"\(part)\" is not KEY=VALUE") }
    out.append((kv[0], kv[1]))
  }
  return out
}
