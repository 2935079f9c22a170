extension Quantity {
  /// Reads a quantity from JSON the way `Quantity.UnmarshalJSON` does: a string (surrounding whitespace
  /// ignored), a bare number (`1.5`, read as its literal text) or `null` (zero).
  ///
  /// - Throws: `QuantityError` when the text is not a quantity, or `.formatWrong` for booleans, arrays
  ///   and objects (k8s.io/apimachinery/pkg/api/resource/quantity.go, `UnmarshalJSON`).
  public init(json: JSONValue) throws(QuantityError) {
    switch json {
    case .null: try self.init(parsing: "0")
    case .number(let number): try self.init(parsing: number.literal)
    case .string(let text):
      let trimmed = text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()
      try self.init(parsing: String(trimmed))
    default: throw .formatWrong
    }
  }

  /// The quantity as the API server writes it: its canonical text as a JSON string.
  public var json: JSONValue { .string(canonical) }
}
