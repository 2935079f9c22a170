/// Sorts unsigned 64-bit keys by least-significant-digit radix sort (Knuth, TAOCP vol. 3, §5.2.5),
/// 11-bit digits in 6 stable counting passes, skipping a pass when every key shares that digit.
///
/// Why not the standard library sort: on 1 M keys it takes ~90 ms here, which made the two-sample KS
/// only ~1.1× faster than scipy (whose SIMD sort and searchsorted are C); the radix sort takes ~20 ms.
/// Small arrays use the standard sort, which is faster below a few thousand keys.
///
/// - Complexity: O(6n) time and n extra keys of memory.
func radixSort(_ keys: inout ContiguousArray<UInt64>) {
  let n = keys.count
  if n < 4096 {
    keys.sort()
    return
  }
  let digitBits = 11, buckets = 1 << 11, mask: UInt64 = (1 << 11) - 1, passes = 6
  // One read computes the histograms of all six digits.
  var counts = [Int](repeating: 0, count: buckets * passes)
  keys.withUnsafeBufferPointer { source in
    counts.withUnsafeMutableBufferPointer { c in
      for key in source {
        for pass in 0..<passes { c[pass * buckets + Int((key >> UInt64(pass * digitBits)) & mask)] += 1 }
      }
    }
  }
  var scratch = ContiguousArray<UInt64>(repeating: 0, count: n)
  var sortedInScratch = false
  for pass in 0..<passes {
    let base = pass * buckets
    // A digit shared by all keys leaves the order unchanged: skip the pass.
    if counts[base..<(base + buckets)].contains(n) { continue }
    var offsets = [Int](repeating: 0, count: buckets)
    var running = 0
    for b in 0..<buckets { offsets[b] = running; running += counts[base + b] }
    let shift = UInt64(pass * digitBits)
    if sortedInScratch {
      scatter(from: scratch, to: &keys, offsets: &offsets, shift: shift, mask: mask)
    } else {
      scatter(from: keys, to: &scratch, offsets: &offsets, shift: shift, mask: mask)
    }
    sortedInScratch.toggle()
  }
  if sortedInScratch { swap(&keys, &scratch) }
}

@inline(__always) private func scatter(
  from source: ContiguousArray<UInt64>, to destination: inout ContiguousArray<UInt64>,
  offsets: inout [Int], shift: UInt64, mask: UInt64
) {
  source.withUnsafeBufferPointer { s in
    destination.withUnsafeMutableBufferPointer { d in
      offsets.withUnsafeMutableBufferPointer { o in
        for key in s {
          let digit = Int((key >> shift) & mask)
          d[o[digit]] = key
          o[digit] += 1
        }
      }
    }
  }
}
