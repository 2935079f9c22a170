import DriftStatistics

/// A DriftPolicy's `source.prometheus`, the pure parts: the query as sent, and its answer — series
/// of per-bucket counts — read as the features' summaries (docs/drift-policy.md, "Reading from
/// Prometheus").
public enum PrometheusBuckets {
  /// The query for the window [since, until) (evaluated at `until`): `$window` becomes its length
  /// as a PromQL duration (`300s`), `$feature` the feature's name (one query per feature when the
  /// query names it), `$namespace` and `$model` the policy's.
  public static func expand(_ query: String, windowSeconds: Int64, feature: String?, namespace: String, model: String) -> String {
    var q = query.replacing("$window", with: "\(windowSeconds)s")
    if let feature { q = q.replacing("$feature", with: feature) }
    return q.replacing("$namespace", with: namespace).replacing("$model", with: model)
  }

  /// Whether the query is sent once per feature (it names `$feature`) rather than once for all.
  public static func isPerFeature(_ query: String) -> Bool { query.contains("$feature") }

  /// Reads per-bucket counts as summaries of the policy's features.
  ///
  /// Each series belongs to the feature its `feature` label names (or to `feature` when the query
  /// was sent for one feature, or to the policy's only feature when no series has the label):
  /// - a numerical feature's series carry `le`, the bucket's upper bound, and cumulative counts —
  ///   a Prometheus histogram's `_bucket` series (prometheus.io/docs/concepts/metric_types/#histogram),
  ///   typically `increase(…_bucket[$window])`. The `le="+Inf"` bucket is required. Counts are
  ///   turned into bins by differences, after a bucket whose count is below a lower bucket's is
  ///   raised to it, as `histogram_quantile` does (prometheus `promql/quantile.go`, `ensureMonotonic`:
  ///   buckets scraped or extrapolated apart can disagree slightly);
  /// - a categorical feature's series carry `category`, and a count each.
  ///
  /// Series of the same feature and bucket (or category) are added: one per pod, merged here
  /// unless the query sums them. Counts are rounded to whole numbers (`increase()` extrapolates
  /// to the window's edges, so it answers fractions). Series of features the policy does not name
  /// are ignored.
  ///
  /// - Throws: `DriftInputError` `QueryFailed` naming the query for an empty answer, a count that is
  ///   NaN, infinite, negative or beyond 2⁵³, a series without the label its feature's type needs,
  ///   a histogram without `le="+Inf"` or with an unreadable bound; `FeatureMissing` for a feature
  ///   of the policy the answer has no series of.
  public static func summaries(_ samples: [PrometheusSample], features: [DriftFeature], query: String) throws(DriftInputError) -> [String: FeatureSummary] {
    guard !samples.isEmpty else {
      throw DriftInputError("QueryFailed", "the query \(query) returned no series: nothing was counted in the window, or it selects no metric")
    }
    let unlabelled = !samples.contains { $0.labels["feature"] != nil }
    var byFeature: [String: [PrometheusSample]] = [:]
    for s in samples {
      guard let name = s.labels["feature"] ?? (unlabelled && features.count == 1 ? features[0].name : nil) else { continue }
      byFeature[name, default: []].append(s)
    }
    var out: [String: FeatureSummary] = [:]
    for feature in features {
      guard let series = byFeature[feature.name], !series.isEmpty else {
        throw DriftInputError("FeatureMissing", "the query \(query) returned no series of feature \(feature.name) (label feature=\"\(feature.name)\")")
      }
      switch feature.type {
      case .numerical: out[feature.name] = try histogram(series, feature: feature.name, query: query)
      case .categorical: out[feature.name] = try categories(series, feature: feature.name, query: query)
      }
    }
    return out
  }

  /// The same as `summaries` for the answer of a query sent for one feature (`$feature`): every
  /// series is that feature's.
  public static func summary(_ samples: [PrometheusSample], feature: DriftFeature, query: String) throws(DriftInputError) -> FeatureSummary {
    guard !samples.isEmpty else {
      throw DriftInputError("FeatureMissing", "the query \(query) returned no series of feature \(feature.name)")
    }
    let tagged = samples.map { s -> PrometheusSample in
      var s = s
      s.labels["feature"] = feature.name
      return s
    }
    guard let summary = try summaries(tagged, features: [feature], query: query)[feature.name] else {
      throw DriftInputError("FeatureMissing", "the query \(query) returned no series of feature \(feature.name)")
    }
    return summary
  }

  /// A summary of no observations: what a baseline window gets when the query found no series in
  /// it (the agents had not been scraped yet).
  public static func empty(_ feature: DriftFeature) -> FeatureSummary {
    switch feature.type {
    case .numerical: .numerical(KLLSketch())
    case .categorical: .categorical(CategoricalCounts())
    }
  }

  static func count(_ s: PrometheusSample, feature: String, query: String, what: String) throws(DriftInputError) -> Double {
    guard s.value.isFinite, s.value >= 0 else {
      throw DriftInputError("QueryFailed", "the query \(query) returned \(s.value) for feature \(feature) \(what): counts must be finite and not negative")
    }
    let v = s.value.rounded()
    guard v <= 9_007_199_254_740_992 else {
      throw DriftInputError("QueryFailed", "the query \(query) returned \(s.value) for feature \(feature) \(what): more than 2^53")
    }
    return v
  }

  static func histogram(_ series: [PrometheusSample], feature: String, query: String) throws(DriftInputError) -> FeatureSummary {
    var cumulative: [Double: Double] = [:]
    for s in series {
      guard let text = s.labels["le"] else {
        let other = s.labels["category"] != nil ? ": it carries category, as a categorical feature's would" : ""
        throw DriftInputError("QueryFailed", "the query \(query) returned a series of numerical feature \(feature) without an le label\(other)")
      }
      guard let bound = PrometheusTextParser.parseValue(text), !bound.isNaN, bound != -.infinity else {
        throw DriftInputError("QueryFailed", "the query \(query) returned feature \(feature) bucket le=\"\(text)\", which is not a bound")
      }
      cumulative[bound, default: 0] += try count(s, feature: feature, query: query, what: "bucket le=\"\(text)\"")
    }
    guard cumulative[.infinity] != nil else {
      throw DriftInputError("QueryFailed", "the query \(query) returned no le=\"+Inf\" bucket of feature \(feature): it must return every bucket of the histogram")
    }
    let bounds = cumulative.keys.sorted()
    var bins: [Double] = []
    var below = 0.0
    for b in bounds {
      let c = max(cumulative[b]!, below)   // histogram_quantile's ensureMonotonic
      bins.append(c - below)
      below = c
    }
    do {
      return .binned(try FixedBinHistogram(edges: Array(bounds.dropLast()), counts: bins))
    } catch {
      throw DriftInputError("QueryFailed", "the query \(query): feature \(feature): \(error)")
    }
  }

  static func categories(_ series: [PrometheusSample], feature: String, query: String) throws(DriftInputError) -> FeatureSummary {
    var counts: [String: Double] = [:]
    for s in series {
      guard let category = s.labels["category"] else {
        let other = s.labels["le"] != nil ? ": it carries le, as a numerical feature's would" : ""
        throw DriftInputError("QueryFailed", "the query \(query) returned a series of categorical feature \(feature) without a category label\(other)")
      }
      counts[category, default: 0] += try count(s, feature: feature, query: query, what: "category \"\(category)\"")
    }
    do {
      return .categorical(try CategoricalCounts(counts: counts))
    } catch {
      throw DriftInputError("QueryFailed", "the query \(query): feature \(feature): \(error)")
    }
  }

  /// Checks `buckets` (per feature, the drift agents' histogram bounds): every name a numerical
  /// feature of the policy, every list finite and strictly ascending.
  /// - Throws: `DriftInputError` `InvalidSpec` naming the feature.
  public static func validate(_ buckets: [String: [Double]], features: [DriftFeature]) throws(DriftInputError) {
    for (name, bounds) in buckets.sorted(by: { $0.key < $1.key }) {
      guard let feature = features.first(where: { $0.name == name }) else {
        throw DriftInputError("InvalidSpec", "source.prometheus.buckets names \(name), which is not a feature of the policy")
      }
      guard feature.type == .numerical else {
        throw DriftInputError("InvalidSpec", "source.prometheus.buckets.\(name): \(name) is categorical; buckets are for numerical features")
      }
      guard bounds.allSatisfy(\.isFinite), zip(bounds, bounds.dropFirst()).allSatisfy({ $0 < $1 }) else {
        throw DriftInputError("InvalidSpec", "source.prometheus.buckets.\(name) must be finite numbers in strictly ascending order")
      }
    }
  }
}
