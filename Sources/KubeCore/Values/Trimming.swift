extension StringProtocol {
  /// The text without the leading and trailing characters for which `isTrimmed` holds.
  public func trimming(while isTrimmed: (Character) -> Bool) -> String {
    guard let first = firstIndex(where: { !isTrimmed($0) }), let last = lastIndex(where: { !isTrimmed($0) }) else { return "" }
    return String(self[first...last])
  }

  /// Without leading and trailing spaces and tabs (HTTP's optional whitespace, RFC 9110 §5.6.3).
  public func trimmingSpaces() -> String { trimming { $0 == " " || $0 == "\t" } }

  /// Without leading and trailing whitespace and newlines: Foundation's
  /// `trimmingCharacters(in: .whitespacesAndNewlines)`, which FoundationEssentials leaves out
  /// (`Character.isWhitespace` is Unicode's White_Space property, the same characters).
  public func trimmingWhitespace() -> String { trimming(while: \.isWhitespace) }
}

extension String {
  /// The string with `pad` in front up to `width` characters (`%0*x`-style zero padding).
  public func leftPadded(to width: Int, with pad: Character = "0") -> String {
    count >= width ? self : String(repeating: pad, count: width - count) + self
  }
}
