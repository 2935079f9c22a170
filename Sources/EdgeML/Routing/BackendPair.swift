import KubeCore

/// The split of a stable backend's original weight between stable and candidate.
///
/// Both share the weight `original` the user gave the stable backend, scaled by 100 so that whole
/// percentages fit: stable `original × (100 − w)`, candidate `original × w`. Their sum stays
/// `100 × original`, which is how `original` is found again on the next call and restored by `reset`,
/// so that after a rollout the object holds exactly what the user wrote.
struct BackendPair {
  var original: Int

  /// The stable backend's original weight: its weight while no candidate backend is beside it,
  /// else the pair's sum over 100 (`defaultWeight` when the stable backend has none).
  init(stable: Int?, candidate: Int?, defaultWeight: Int = 1) {
    let s = stable ?? defaultWeight
    var original = s
    if let candidate {
      original = Int((Double(s + candidate) / 100).rounded())
      if original == 0 && s + candidate > 0 { original = 1 }
    }
    // HTTPRoute caps a weight at 1,000,000 (its CRD's `maximum`), so 100 × original must fit.
    self.original = min(original, 10_000)
  }

  func stableWeight(_ route: RouteWeights) -> Int { original * route.stableWeight }
  func candidateWeight(_ route: RouteWeights) -> Int { original * route.candidateWeight }

  /// `entries` with the stable entry at `stable` weighted and a candidate entry beside it — the one at
  /// `candidate`, else a copy of the stable entry naming the candidate Service — or, on reset, the
  /// candidate entry removed and the stable entry's original weight back.
  ///
  /// The backend lists of both HTTPRoute rules and TraefikService weighted services name a Service
  /// by `name`, `port` and `weight`, so one edit serves both.
  /// - Returns: the new entries and the candidate entry as weighted (before any removal).
  static func shift(_ entries: [JSONValue], stable: Int, candidate: Int?, route: RouteWeights,
                    reset: Bool) -> (entries: [JSONValue], candidate: JSONValue) {
    var entries = entries
    let pair = BackendPair(stable: entries[stable]["weight"]?.intValue, candidate: candidate.flatMap { entries[$0]["weight"]?.intValue })
    var copy = candidate.map { entries[$0] } ?? entries[stable]
    copy["name"] = .string(route.candidateService)
    if let port = route.port { copy["port"] = JSONValue(port) }
    copy["weight"] = JSONValue(pair.candidateWeight(route))
    entries[stable]["weight"] = JSONValue(reset ? pair.original : pair.stableWeight(route))
    switch (candidate, reset) {
    case (let c?, true): entries.remove(at: c)
    case (let c?, false): entries[c] = copy
    case (nil, false): entries.insert(copy, at: stable + 1)
    case (nil, true): break
    }
    return (entries, copy)
  }
}
