import Foundation

/// trtexec's logger: severity-prefixed, time-stamped lines, INFO on stdout and warnings/errors on stderr.
///
/// Modelled on `samples/common/logging.h` @v10.3.0:
/// * every line starts `[MM/DD/YYYY-HH:MM:SS] ` in local time (l.85-94), then the severity prefix
///   `[F] `, `[E] `, `[W] `, `[I] ` or `[V] ` (`severityPrefix`);
/// * messages from the TensorRT library itself add `[TRT] ` (l.314);
/// * `severityOstream` sends INFO and VERBOSE to `std::cout`, warnings and errors to `std::cerr`;
/// * the `&&&& RUNNING|PASSED|FAILED <name> # <command line>` lines (`reportTestResult`) carry no
///   prefix and go to stdout.
struct Console {
  enum Severity: String { case error = "[E] ", warning = "[W] ", info = "[I] ", verbose = "[V] " }

  var verbose = false
  private let stamp: DateFormatter = {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.dateFormat = "MM/dd/yyyy-HH:mm:ss"
    return f
  }()

  func log(_ severity: Severity, _ message: String) {
    if severity == .verbose && !verbose { return }
    let prefix = "[\(stamp.string(from: Date()))] \(severity.rawValue)"
    // A multi-line message gets the prefix once, as trtexec's stream buffer does on flush.
    let line = prefix + message + "\n"
    switch severity {
    case .info, .verbose: Console.write(line, to: FileHandle.standardOutput)
    case .error, .warning: Console.write(line, to: FileHandle.standardError)
    }
  }
  func info(_ m: String) { log(.info, m) }
  func warning(_ m: String) { log(.warning, m) }
  func error(_ m: String) { log(.error, m) }
  /// A line the TensorRT library (not trtexec) logs: `[E] [TRT] …`.
  func library(_ severity: Severity, _ m: String) { log(severity, "[TRT] " + m) }

  /// Writes unprefixed text (help, result lines) to stdout.
  func raw(_ text: String) { Console.write(text, to: FileHandle.standardOutput) }

  static func write(_ text: String, to handle: FileHandle) {
    handle.write(Data(text.utf8))
  }
}
