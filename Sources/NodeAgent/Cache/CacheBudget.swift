import Foundation
import KubeCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How many bytes the node's engine cache may hold: a size, or a share of the file system it is on.
///
/// `--cache-budget 20%` (the default) or `--cache-budget 8Gi` (a Kubernetes quantity, or plain bytes).
///
/// Why 20 % by default: a Jetson's eMMC is 16–64 GB and the same file system holds the container
/// images and logs. The kubelet starts deleting images at 85 % use (`imageGCHighThresholdPercent`)
/// and evicts pods below 10 % free (`evictionHard: nodefs.available<10%`), both defaults of the
/// kubelet configuration (kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/). A cache
/// of a fifth of the disk (3.2 GB on 16 GB, 12.8 GB on 64 GB) holds tens of engines of the usual
/// tens to hundreds of MB while leaving JetPack, the images and that head-room the rest.
public enum CacheBudget: Sendable, Equatable, CustomStringConvertible {
  /// At most this many bytes.
  case bytes(Int)
  /// At most this share, in percent (0 excluded, 100 included), of the file system's size.
  case percent(Double)

  public static let `default` = CacheBudget.percent(20)

  /// Reads `20%`, `8Gi`, `500M` or `1000000`.
  /// - Throws: `CacheBudgetError` for anything else, a zero or negative size, or a percentage
  ///   outside (0, 100].
  public init(parsing text: String) throws(CacheBudgetError) {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    if trimmed.hasSuffix("%") {
      guard let value = Double(trimmed.dropLast()), value.isFinite, value > 0, value <= 100 else {
        throw CacheBudgetError(text: text, problem: "a percentage must be above 0 and at most 100, such as 20%")
      }
      self = .percent(value)
      return
    }
    guard let quantity = try? Quantity(parsing: trimmed) else {
      throw CacheBudgetError(text: text, problem: "expected a size such as 8Gi, 500M or 1000000, or a percentage of the disk such as 20%")
    }
    let value = quantity.doubleValue.rounded(.down)
    guard value >= 1, value < Double(Int.max) else {
      throw CacheBudgetError(text: text, problem: "a size must be at least 1 byte")
    }
    self = .bytes(Int(value))
  }

  /// The budget in bytes for a file system of `fileSystemBytes`; nil for a percentage when the
  /// size is unknown.
  public func bytes(fileSystemBytes: Int?) -> Int? {
    switch self {
    case .bytes(let n): return n
    case .percent(let p):
      guard let total = fileSystemBytes else { return nil }
      return Int((Double(total) * p / 100).rounded(.down))
    }
  }

  public var description: String {
    switch self {
    case .bytes(let n): return "\(n) bytes"
    case .percent(let p): return p == p.rounded() ? "\(Int(p))%" : "\(p)%"
    }
  }

  /// The size of the file system holding `path` (`statvfs(3)`: `f_blocks × f_frsize`), or nil
  /// when it cannot be read.
  public static func fileSystemBytes(at path: String) -> Int? {
    var info = statvfs()
    guard statvfs(path, &info) == 0 else { return nil }
    let total = UInt64(info.f_blocks).multipliedReportingOverflow(by: UInt64(info.f_frsize))
    return total.overflow || total.partialValue > UInt64(Int.max) ? nil : Int(total.partialValue)
  }
}

/// A `--cache-budget` that is neither a size nor a percentage.
public struct CacheBudgetError: Error, Sendable, Equatable, CustomStringConvertible {
  public var text: String
  public var problem: String
  public var description: String { "cache budget \"\(text)\": \(problem)" }
}
