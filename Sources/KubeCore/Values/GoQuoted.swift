extension String {
  /// The string as Go's `%q` prints it: double-quoted, with `"`, `\` and control characters escaped.
  ///
  /// Error messages copied from Go code (apimachinery field errors, go-yaml) quote values this way; using
  /// the same quoting keeps our messages byte-identical to upstream's.
  public var goQuoted: String {
    var out = "\""
    for scalar in unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      case "\r": out += "\\r"
      default:
        if scalar.value < 0x20 || scalar.value == 0x7F {
          let hex = String(scalar.value, radix: 16)
          out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    return out + "\""
  }
}
