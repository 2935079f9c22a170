extension StringProtocol {
  /// Returns the text without leading and trailing whitespace and newlines.
  ///
  /// Foundation's `trimmingCharacters(in: .whitespacesAndNewlines)` without Foundation, which
  /// `FoundationEssentials` leaves out (with `CharacterSet`): `Character.isWhitespace` is Unicode's
  /// White_Space property, the same characters.
  func trimmingWhitespace() -> String {
    guard let first = firstIndex(where: { !$0.isWhitespace }), let last = lastIndex(where: { !$0.isWhitespace }) else {
      return ""
    }
    return String(self[first...last])
  }
}
