/// Rearranges `values` so that each index in `positions` holds the value a full sort would put there
/// (multi-quickselect, Hoare's FIND, CACM 4(7), 1961), for quantiles without an O(n log n) sort.
///
/// - Complexity: O(n log p) expected for p positions; ranges of up to 32 values are insertion-sorted,
///   and a range that stops shrinking falls back to the standard library sort, so the worst case is
///   O(n log n).
func selectOrderStatistics(_ values: inout ContiguousArray<Double>, positions: [Int]) {
  let wanted = Array(Set(positions.filter { $0 >= 0 && $0 < values.count })).sorted()
  values.withUnsafeMutableBufferPointer { buffer in
    select(buffer, 0, buffer.count, wanted[...], depth: 0)
  }
}

private func select(_ a: UnsafeMutableBufferPointer<Double>, _ lo: Int, _ hi: Int, _ wanted: ArraySlice<Int>, depth: Int) {
  guard !wanted.isEmpty, hi - lo > 1 else { return }
  if hi - lo <= 32 || depth > 64 {
    var slice = Array(a[lo..<hi])
    slice.sort()
    for (k, v) in slice.enumerated() { a[lo + k] = v }
    return
  }
  // Median of three as pivot, then a three-way partition: < pivot, == pivot, > pivot.
  let mid = lo + (hi - lo) / 2
  let x = a[lo], y = a[mid], z = a[hi - 1]
  let pivot = max(min(x, y), min(max(x, y), z))
  var lt = lo, i = lo, gt = hi
  while i < gt {
    let v = a[i]
    if v < pivot { a.swapAt(lt, i); lt += 1; i += 1 } else if v > pivot { gt -= 1; a.swapAt(i, gt) } else { i += 1 }
  }
  let left = wanted.prefix { $0 < lt }
  let right = wanted.drop { $0 < gt }
  select(a, lo, lt, left, depth: depth + 1)
  select(a, gt, hi, right, depth: depth + 1)
}
