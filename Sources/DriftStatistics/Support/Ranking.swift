/// Average ranks (1-based, ties get the mean of their positions, `scipy.stats.rankdata(method='average')`)
/// of the pooled values, and the sizes of the tie groups.
func averageRanks(_ values: [Double]) -> (ranks: [Double], tieCounts: [Int]) {
  let order = values.indices.sorted { values[$0] < values[$1] }
  var ranks = [Double](repeating: 0, count: values.count)
  var ties: [Int] = []
  var start = 0
  while start < order.count {
    var end = start + 1
    while end < order.count && values[order[end]] == values[order[start]] { end += 1 }
    let rank = Double(start + 1 + end) / 2   // mean of positions start+1 … end
    for k in start..<end { ranks[order[k]] = rank }
    ties.append(end - start)
    start = end
  }
  return (ranks, ties)
}
