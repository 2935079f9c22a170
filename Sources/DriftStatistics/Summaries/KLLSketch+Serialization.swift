extension KLLSketch {
  /// The sketch as bytes, to travel from an inference pod to the controller.
  ///
  /// Layout (little-endian): "KLL1", k: UInt32, count: UInt64, minimum, maximum: Float64 bits,
  /// coin state: UInt64, level count: UInt32, then per level its size: UInt32 and its values as
  /// Float64 bits. 1 M values at k = 400 serialise to about 10 KiB.
  public func serialized() -> [UInt8] {
    var out: [UInt8] = Array("KLL1".utf8)
    func append<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    append(UInt32(k))
    append(UInt64(count))
    append(minimum.bitPattern)
    append(maximum.bitPattern)
    append(coinState)
    append(UInt32(levelValues.count))
    for level in levelValues {
      append(UInt32(level.count))
      for v in level { append(v.bitPattern) }
    }
    return out
  }

  /// The size of `serialized()` in bytes.
  public var serializedBytes: Int { 4 + 4 + 8 + 8 + 8 + 8 + 4 + levelValues.reduce(0) { $0 + 4 + 8 * $1.count } }

  /// Reads a sketch written by `serialized()`.
  ///
  /// - Throws: `DriftStatisticsError.invalidParameter` for truncated or malformed bytes, and
  ///   `.countTooLarge` for a sketch of more than 2⁵³ values (which `insert` and `merge` never make).
  public init(serialized bytes: [UInt8]) throws(DriftStatisticsError) {
    var reader = ByteReader(bytes: bytes)
    guard bytes.starts(with: Array("KLL1".utf8)) else { throw .invalidParameter("not a KLL sketch") }
    reader.offset = 4
    guard let k = reader.read(UInt32.self), let count = reader.read(UInt64.self),
          let minBits = reader.read(UInt64.self), let maxBits = reader.read(UInt64.self),
          let state = reader.read(UInt64.self), let levelCount = reader.read(UInt32.self), levelCount <= 64
    else { throw .invalidParameter("truncated KLL sketch") }
    var levels: [[Double]] = []
    var weight: UInt64 = 0
    for h in 0..<Int(levelCount) {
      guard let size = reader.read(UInt32.self), Int(size) <= (bytes.count - reader.offset) / 8 else {
        throw .invalidParameter("truncated KLL sketch")
      }
      guard let level = reader.readDoubles(Int(size)) else { throw .invalidParameter("KLL sketch holds NaN") }
      // A level's items weigh 2^h each; the total must be the count, at most 2⁵³, without wrapping.
      if size > 0 {
        guard h <= 53, UInt64(size) <= UInt64(maximumExactCount) >> UInt64(h) else { throw .countTooLarge(name: "sketch") }
        weight += UInt64(size) << UInt64(h)
        guard weight <= UInt64(maximumExactCount) else { throw .countTooLarge(name: "sketch") }
      }
      levels.append(level)
    }
    guard count <= UInt64(maximumExactCount) else { throw .countTooLarge(name: "sketch") }
    guard weight == count, reader.offset == bytes.count else { throw .invalidParameter("inconsistent KLL sketch") }
    self.init(k: Int(k), count: Int(count), minimum: Double(bitPattern: minBits), maximum: Double(bitPattern: maxBits),
              levels: levels.isEmpty ? [[]] : levels, coinState: state)
  }
}

/// Reads little-endian fields from the bytes of a serialized sketch.
private struct ByteReader {
  let bytes: [UInt8]
  var offset = 0

  mutating func read<T: FixedWidthInteger>(_: T.Type) -> T? {
    let size = MemoryLayout<T>.size
    guard offset + size <= bytes.count else { return nil }
    let value = bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    offset += size
    return value
  }

  /// `count` Float64 values (the caller checked that they fit); nil when one is NaN, which has no rank.
  ///
  /// One pass over the bytes into an array of the exact size: a 1,000-feature report carries about
  /// 400,000 of them per pod.
  mutating func readDoubles(_ count: Int) -> [Double]? {
    let start = offset
    var hasNaN = false
    let values = bytes.withUnsafeBytes { raw in
      [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
        for i in 0..<count {
          let v = Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start + 8 * i, as: UInt64.self)))
          hasNaN = hasNaN || v.isNaN
          buffer[i] = v
        }
        initialized = count
      }
    }
    offset += 8 * count
    return hasNaN ? nil : values
  }
}
