/// The part of a JSON document to build while parsing it (`JSONParser.parse(_:projection:)`).
///
/// A cache that keeps a few fields of each object (an informer's transform) need not build the
/// rest: a watched pod's `managedFields` are about half its bytes and most of its values.
public indirect enum JSONProjection: Sendable, Equatable {
  /// The whole value.
  case all
  /// For an object: the members named in `only` (every member when nil), except those in
  /// `dropping`; `members` gives a kept member's own projection (`.all` when absent). For an array:
  /// each item under this projection. Scalars are kept whole.
  case object(members: [String: JSONProjection], only: Set<String>?, dropping: Set<String>)

  /// An object's members, none of them: the document is checked but nothing is built (an answer
  /// the caller does not read).
  public static let nothing = JSONProjection.object(members: [:], only: [], dropping: [])

  /// An object projection; see `object(members:only:dropping:)`.
  public static func keeping(_ only: Set<String>? = nil, dropping: Set<String> = [], members: [String: JSONProjection] = [:]) -> JSONProjection {
    .object(members: members, only: only, dropping: dropping)
  }
}
