/// A range for the size of a string (characters), bytes, list or map (elements), as CEL's `size()`
/// would return it, known before any object exists.
///
/// cel-go's `SizeEstimate` (`checker/cost.go`): arithmetic saturates at `UInt64.max` instead of
/// overflowing, and `UInt64.max` itself means "unknown". Cost factors are applied in `Double` and
/// rounded up exactly as cel-go's `multiplyByCostFactor` does, so `30 × 0.1` is 4 here as it is there
/// (the product is 3.0000000000000004): estimates that must equal upstream's to the unit depend on it.
package struct CELSizeEstimate: Sendable, Equatable {
  package var min: UInt64
  package var max: UInt64

  /// Nothing is known: `[0, UInt64.max]` (cel-go `UnknownSizeEstimate`).
  package static let unknown = CELSizeEstimate(min: 0, max: .max)

  package static func fixed(_ size: UInt64) -> CELSizeEstimate { CELSizeEstimate(min: size, max: size) }

  package func adding(_ other: CELSizeEstimate) -> CELSizeEstimate {
    CELSizeEstimate(min: CELSizeEstimate.add(min, other.min), max: CELSizeEstimate.add(max, other.max))
  }

  package func multiplied(by other: CELSizeEstimate) -> CELSizeEstimate {
    CELSizeEstimate(min: CELSizeEstimate.multiply(min, other.min), max: CELSizeEstimate.multiply(max, other.max))
  }

  /// The smallest range holding both.
  package func union(_ other: CELSizeEstimate) -> CELSizeEstimate {
    CELSizeEstimate(min: Swift.min(min, other.min), max: Swift.max(max, other.max))
  }

  /// The most this size costs at `factor` units per element, rounded up.
  package func maxCost(perUnit factor: Double) -> UInt64 { CELSizeEstimate.multiply(max, byFactor: factor) }

  /// `a + b`, saturating (cel-go `addUint64NoOverflow`).
  package static func add(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? .max : sum
  }

  /// `a × b`, saturating (cel-go `multiplyUint64NoOverflow`).
  package static func multiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let (product, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? .max : product
  }

  /// `⌈x × factor⌉` computed in `Double`, saturating at 2⁶⁴ (cel-go `multiplyByCostFactor`).
  package static func multiply(_ x: UInt64, byFactor factor: Double) -> UInt64 {
    let product = (Double(x) * factor).rounded(.up)
    return product >= 18_446_744_073_709_551_616.0 ? .max : UInt64(product)
  }
}
