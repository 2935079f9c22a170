import KubeCore
import Synchronization

/// What the routers of one operator last read or wrote of the objects they edit: for each object,
/// only the parts its router's change reads and writes (`ObjectEditor.reads`), such as an
/// HTTPRoute's `spec.rules`.
///
/// It lets a step's write go as one JSON Patch that carries its own precondition, instead of a read
/// and then a write (`ObjectEditor.edit`). It is never trusted as the cluster's state: the patch
/// tests that the object still holds what is remembered, and any refusal sends the editor back to
/// reading the object.
///
/// Bounded: an object is forgotten when its router is reset or the object is gone, and when
/// `capacity` objects are remembered, one of them is forgotten to make room for another (its next
/// step reads again).
/// One memory serves one API server: keys name the object, not the server.
public final class RouterObjectMemory: Sendable {
  /// How many objects are remembered at most.
  public static let capacity = 1024
  private let entries = Mutex<[String: JSONValue]>([:])

  public init() {}

  func known(_ key: String) -> JSONValue? { entries.withLock { $0[key] } }

  func remember(_ key: String, _ value: JSONValue) {
    entries.withLock { entries in
      if entries[key] == nil && entries.count >= Self.capacity { entries.remove(at: entries.startIndex) }
      entries[key] = value
    }
  }

  func forget(_ key: String) { _ = entries.withLock { $0.removeValue(forKey: key) } }

  /// How many objects are remembered.
  public var count: Int { entries.withLock { $0.count } }
}
