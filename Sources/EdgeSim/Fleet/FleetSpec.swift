import Foundation

/// How many nodes of which kinds a simulated cluster has, parsed from `orin-nx-16gb=3,agx-orin-64gb=2`.
public struct FleetSpec: Sendable, Equatable, CustomStringConvertible {
  public var entries: [(kind: NodeKind, count: Int)]

  /// Seven nodes: three Orin NX, two AGX Orin, two Orin Nano (all JetPack 6).
  public static let `default` = FleetSpec(entries: [(.orinNX16, 3), (.agxOrin64, 2), (.orinNano8, 2)])

  public init(entries: [(kind: NodeKind, count: Int)]) { self.entries = entries }

  /// Parses `KIND=COUNT[,KIND=COUNT…]`; KIND is a catalogue name or a fixture name.
  /// - Throws: `EdgeSimError.invalidFleetSpec` naming the bad entry and the known kinds.
  public init(parsing text: String) throws(EdgeSimError) {
    var entries: [(kind: NodeKind, count: Int)] = []
    for part in text.split(separator: ",") {
      let pair = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
      let known = NodeKind.catalogue.map(\.name).joined(separator: ", ")
      guard pair.count == 2, let count = Int(pair[1]), count >= 0 else {
        throw .invalidFleetSpec("\"\(part)\" is not KIND=COUNT (kinds: \(known))")
      }
      guard let kind = NodeKind.named(pair[0]) else { throw .invalidFleetSpec("unknown node kind \"\(pair[0])\" (kinds: \(known))") }
      entries.append((kind, count))
    }
    guard entries.contains(where: { $0.count > 0 }) else { throw .invalidFleetSpec("the fleet has no nodes") }
    self.entries = entries
  }

  /// Node names and kinds, in spec order: `orin-nx-16gb-0`, `orin-nx-16gb-1`, …
  public var nodes: [(name: String, kind: NodeKind)] {
    var seen: [String: Int] = [:]
    var out: [(name: String, kind: NodeKind)] = []
    for (kind, count) in entries {
      for _ in 0..<count {
        let i = seen[kind.name, default: 0]
        seen[kind.name] = i + 1
        out.append(("\(kind.name.replacingOccurrences(of: ".", with: "-"))-\(i)", kind))
      }
    }
    return out
  }

  public var description: String { entries.map { "\($0.kind.name)=\($0.count)" }.joined(separator: ",") }

  public static func == (a: FleetSpec, b: FleetSpec) -> Bool { a.description == b.description }
}
