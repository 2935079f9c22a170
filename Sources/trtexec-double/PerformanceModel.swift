import Foundation

/// Inference timing the double reports: deterministic in the model and the build, shaped like trtexec's.
///
/// The numbers are a model, not a measurement: mean latency = 1.2 ms + 0.05 ms per graph node +
/// 0.8 ms per MB of ONNX, × 0.55 with FP16, × 0.35 with INT8, × 1.6 on a DLA core. The report
/// lines follow `printEpilog` (`samples/common/sampleReporting.cpp` @v10.3.0 l.224-262, same shape
/// @8.5.2 l.217-227): `=== Performance summary ===`, `Throughput: <x> qps`, then
/// `Latency: min = … ms, max = … ms, mean = … ms, median = … ms, percentile(90%) = … ms,
/// percentile(95%) = … ms, percentile(99%) = … ms` with the default percentiles 90, 95, 99
/// (`defaultPercentiles`, `sampleOptions.h` @v10.3.0 l.58), numbers printed as C++ streams print a
/// `float` (six significant digits, `%g`). Throughput is queries per second of walltime
/// (`batchSize * timings.size() / walltimeMs * 1000`, l.227) — one stream, so 1000 / mean.
struct PerformanceModel {
  var meanMs: Double

  static func meanLatency(modelBytes: Int, nodes: Int, precision: String, onDLA: Bool) -> Double {
    var ms = 1.2 + 0.05 * Double(nodes) + 0.8 * Double(modelBytes) / 1_000_000
    if precision.contains("int8") { ms *= 0.35 } else if precision.contains("fp16") { ms *= 0.55 }
    if onDLA { ms *= 1.6 }
    return ms
  }

  /// The summary lines, without the log prefix.
  var summary: [String] {
    func g(_ x: Double) -> String { String(format: "%g", Float(x)) }
    func perf(_ m: Double) -> String {
      "min = \(g(m * 0.95)) ms, max = \(g(m * 1.3)) ms, mean = \(g(m)) ms, median = \(g(m * 0.99)) ms, "
        + "percentile(90%) = \(g(m * 1.05)) ms, percentile(95%) = \(g(m * 1.1)) ms, percentile(99%) = \(g(m * 1.2)) ms"
    }
    let compute = meanMs * 0.8
    let walltime = 3.0   // trtexec's default --duration=3 (seconds)
    return [
      "",
      "=== Performance summary ===",
      "Throughput: \(g(1000 / meanMs)) qps",
      "Latency: \(perf(meanMs))",
      "Enqueue Time: \(perf(meanMs * 0.1))",
      "H2D Latency: \(perf(meanMs * 0.1))",
      "GPU Compute Time: \(perf(compute))",
      "D2H Latency: \(perf(meanMs * 0.1))",
      "Total Host Walltime: \(g(walltime)) s",
      "Total GPU Compute Time: \(g(compute * (walltime * 1000 / meanMs) / 1000)) s",
      "Explanations of the performance metrics are printed in the verbose logs.",
      "",
    ]
  }
}
