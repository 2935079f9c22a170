/// What `EngineBuilder` reads from trtexec's output.
///
/// Line shapes (shared/reference/jetson/trtexec.md §3; `samples/common/logging.h` and
/// `sampleReporting.cpp` @v10.3.0 l.246-258):
/// `&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # …`,
/// `[…] [I] Throughput: 310.5 qps`,
/// `[…] [I] Latency: min = 3.0 ms, max = 3.4 ms, mean = 3.1 ms, median = 3.1 ms, percentile(90%) = …`,
/// errors as `[…] [E] …`.
public enum TrtexecOutput {
  /// The release from the `&&&& RUNNING` line, if the output has one.
  public static func release(in output: String) -> TensorRTRelease? {
    for line in output.split(separator: "\n") where line.hasPrefix("&&&& RUNNING ") {
      guard let start = line.range(of: "[TensorRT v") else { continue }
      let digits = line[start.upperBound...].prefix { $0.isASCII && $0.isNumber }
      if let tag = Int(digits) { return TensorRTRelease(tag: tag) }
    }
    return nil
  }

  /// trtexec's mean end-to-end `Latency` and its `Throughput`, when inference ran.
  public static func performance(in output: String) -> (latencyMs: Double, throughputQPS: Double)? {
    var latency: Double?
    var throughput: Double?
    for line in output.split(separator: "\n") {
      if let r = line.range(of: "[I] Throughput: ") {
        throughput = Double(line[r.upperBound...].prefix { $0 != " " })
      } else if let r = line.range(of: "[I] Latency: "), let mean = line[r.upperBound...].range(of: "mean = ") {
        latency = Double(line[mean.upperBound...].prefix { $0 != " " })
      }
    }
    guard let latency, let throughput, latency.isFinite, throughput.isFinite else { return nil }
    return (latency, throughput)
  }

  /// The `[E]` lines, without their time stamp, for a failure message.
  public static func errors(in output: String) -> [String] {
    output.split(separator: "\n").compactMap { line in
      guard let r = line.range(of: "[E] ") else { return nil }
      return String(line[r.upperBound...])
    }
  }
}
