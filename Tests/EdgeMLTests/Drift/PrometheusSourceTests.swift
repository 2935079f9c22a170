import ControllerRuntime
import DriftStatistics
import KubeCore
import Testing
@testable import EdgeML

/// `source.prometheus` on literal inputs: Prometheus' JSON answers (bodies shaped as the HTTP API
/// documents them, prometheus.io/docs/prometheus/latest/querying/api/, "Expression query result
/// formats"), per-bucket counts read as summaries, and evaluations of them.
struct PrometheusSourceTests {
  static let query = "sum by (feature, le) (increase(edgeml_drift_agent_feature_value_bucket[300s]))"
  static let brightness = DriftFeature(name: "brightness", type: .numerical)
  static let label = DriftFeature(name: "label", type: .categorical)

  static func sample(_ labels: [String: String], _ value: Double) -> PrometheusSample { PrometheusSample(labels: labels, value: value) }

  static func vector(_ series: String) -> Result<[PrometheusSample], PrometheusQueryError> {
    PrometheusResponse.decodeVector(status: 200, body: Array(#"{"status":"success","data":{"resultType":"vector","result":[\#(series)]}}"#.utf8))
  }

  @Test("An instant vector's series keep their labels; a range vector, a scalar, a refused query and a proxy's page are errors that say so")
  func decodesAnswers() throws {
    let samples = try Self.vector(#"{"metric":{"feature":"brightness","le":"0.5"},"value":[1800000000,"12"]},{"metric":{"feature":"brightness","le":"+Inf"},"value":[1800000000,"20.4"]}"#).get()
    #expect(samples == [Self.sample(["feature": "brightness", "le": "0.5"], 12), Self.sample(["feature": "brightness", "le": "+Inf"], 20.4)])
    #expect(try Self.vector("").get() == [])

    let matrix = PrometheusResponse.decodeVector(status: 200, body: Array(#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]}]}}"#.utf8))
    guard case .failure(let m) = matrix else { Issue.record("a matrix must not decode"); return }
    #expect(m.message.contains("range vector") && m.message.contains("increase()") && m.answered)
    let scalar = PrometheusResponse.decodeVector(status: 200, body: Array(#"{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}"#.utf8))
    guard case .failure(let s) = scalar else { Issue.record("a scalar must not decode as a vector"); return }
    #expect(s.message == "the query returned a scalar; use an instant vector")
    let refused = PrometheusResponse.decodeVector(status: 400, body: Array(#"{"status":"error","errorType":"bad_data","error":"1:9: parse error: unexpected \"}\""}"#.utf8))
    #expect(refused == .failure(PrometheusQueryError(#"Prometheus refused the query (HTTP 400): bad_data: 1:9: parse error: unexpected "}""#)))
    guard case .failure(let page) = PrometheusResponse.decodeVector(status: 502, body: Array("<html>Bad Gateway</html>".utf8)) else {
      Issue.record("HTML must not decode"); return
    }
    #expect(!page.answered)   // the operator says SourceUnreachable, not QueryFailed
  }

  @Test("$window, $feature, $namespace and $model are replaced; only a query naming $feature is sent per feature")
  func expandsTheQuery() {
    let q = #"sum by (le) (increase(m_bucket{namespace="$namespace",model="$model",feature="$feature"}[$window]))"#
    #expect(PrometheusBuckets.expand(q, windowSeconds: 3600, feature: "brightness", namespace: "vision", model: "detector")
      == #"sum by (le) (increase(m_bucket{namespace="vision",model="detector",feature="brightness"}[3600s]))"#)
    #expect(PrometheusBuckets.isPerFeature(q))
    #expect(!PrometheusBuckets.isPerFeature(Self.query))
  }

  @Test("Cumulative le buckets become bins: pods added, out of order, fractions rounded, a dip below a lower bucket raised to it")
  func bucketsBecomeBins() throws {
    let samples = [
      // Two pods' series, not summed by the query, given out of order.
      Self.sample(["feature": "brightness", "le": "+Inf", "pod": "a"], 60.4), Self.sample(["feature": "brightness", "le": "0.5", "pod": "a"], 30),
      Self.sample(["feature": "brightness", "le": "0.25", "pod": "a"], 10.2), Self.sample(["feature": "brightness", "le": "0.75", "pod": "a"], 50),
      Self.sample(["feature": "brightness", "le": "+Inf", "pod": "b"], 40), Self.sample(["feature": "brightness", "le": "0.5", "pod": "b"], 20),
      Self.sample(["feature": "brightness", "le": "0.25", "pod": "b"], 10), Self.sample(["feature": "brightness", "le": "0.75", "pod": "b"], 19.6),
      // A feature the policy does not name is left alone.
      Self.sample(["feature": "other", "le": "+Inf"], 5),
    ]
    let summaries = try PrometheusBuckets.summaries(samples, features: [Self.brightness], query: Self.query)
    // Summed and rounded, cumulative 20, 50, 70, 100.
    #expect(summaries == ["brightness": .binned(try FixedBinHistogram(edges: [0.25, 0.5, 0.75], counts: [20, 30, 20, 30]))])
    #expect(summaries.count == 1)

    let dip = [Self.sample(["le": "1"], 10), Self.sample(["le": "2"], 9), Self.sample(["le": "+Inf"], 12)]
    // One feature, no feature label: the series are its; 2's count below 1's is raised to it.
    #expect(try PrometheusBuckets.summaries(dip, features: [Self.brightness], query: Self.query)["brightness"]
      == .binned(try FixedBinHistogram(edges: [1, 2], counts: [10, 0, 2])))
  }

  @Test("Categories come from the category label, summed over series")
  func categories() throws {
    let samples = [Self.sample(["feature": "label", "category": "car", "pod": "a"], 7), Self.sample(["feature": "label", "category": "car", "pod": "b"], 3),
                   Self.sample(["feature": "label", "category": "bus"], 4.4)]
    #expect(try PrometheusBuckets.summaries(samples, features: [Self.label], query: Self.query)["label"]
      == .categorical(try CategoricalCounts(counts: ["car": 10, "bus": 4])))
  }

  @Test("No series, no +Inf bucket, NaN, a negative count, a missing label or a missing feature: a condition naming the query", arguments: [
    ([] as [PrometheusSample], [PrometheusSourceTests.brightness], "QueryFailed", "returned no series"),
    ([PrometheusSourceTests.sample(["feature": "brightness", "le": "0.5"], 3)], [PrometheusSourceTests.brightness], "QueryFailed", #"no le="+Inf" bucket of feature brightness"#),
    ([PrometheusSourceTests.sample(["feature": "brightness", "le": "+Inf"], .nan)], [PrometheusSourceTests.brightness], "QueryFailed", "returned nan for feature brightness"),
    ([PrometheusSourceTests.sample(["feature": "brightness", "le": "+Inf"], -1)], [PrometheusSourceTests.brightness], "QueryFailed", "must be finite and not negative"),
    ([PrometheusSourceTests.sample(["feature": "brightness", "le": "x"], 1)], [PrometheusSourceTests.brightness], "QueryFailed", #"le="x", which is not a bound"#),
    ([PrometheusSourceTests.sample(["feature": "brightness", "category": "car"], 1)], [PrometheusSourceTests.brightness], "QueryFailed", "it carries category"),
    ([PrometheusSourceTests.sample(["feature": "label", "le": "+Inf"], 1)], [PrometheusSourceTests.label], "QueryFailed", "without a category label: it carries le"),
    ([PrometheusSourceTests.sample(["feature": "brightness", "le": "+Inf"], 1)], [PrometheusSourceTests.brightness, PrometheusSourceTests.label], "FeatureMissing", "no series of feature label"),
  ])
  func badAnswers(_ samples: [PrometheusSample], _ features: [DriftFeature], _ reason: String, _ words: String) {
    let error = #expect(throws: DriftInputError.self) { try PrometheusBuckets.summaries(samples, features: features, query: Self.query) }
    #expect(error?.reason == reason)
    #expect(error?.message.contains(words) == true && error?.message.contains(Self.query) == true, "\(String(describing: error))")
  }

  @Test("Buckets in the spec must be a numerical feature's finite, strictly ascending bounds", arguments: [
    (["speed": [0.1, 0.2]], "speed, which is not a feature"),
    (["label": [0.1]], "label is categorical"),
    (["brightness": [0.2, 0.1]], "strictly ascending"),
    (["brightness": [0.1, .infinity]], "strictly ascending"),
  ] as [([String: [Double]], String)])
  func bucketsValidated(_ buckets: [String: [Double]], _ words: String) {
    let error = #expect(throws: DriftInputError.self) { try PrometheusBuckets.validate(buckets, features: [Self.brightness, Self.label]) }
    #expect(error?.reason == "InvalidSpec" && error?.message.contains(words) == true, "\(String(describing: error))")
    #expect(throws: Never.self) { try PrometheusBuckets.validate(["brightness": [0.1, 0.2]], features: [Self.brightness, Self.label]) }
  }

  /// Counts of `n` draws of N(mean, 0.1) in the buckets 0.1, 0.2, …, 1.4.
  static func binned(_ rng: inout SeededRandom, n: Int, mean: Double) throws -> FeatureSummary {
    let edges = (1...14).map { Double($0) / 10 }
    var counts = [Double](repeating: 0, count: edges.count + 1)
    for _ in 0..<n {
      let x = rng.normal(mean: mean, sd: 0.1)
      counts[edges.firstIndex { x <= $0 } ?? edges.count] += 1
    }
    return .binned(try FixedBinHistogram(edges: edges, counts: counts))
  }

  @Test("Binned current data against a sketch or a binned reference: quiet without drift, drifted with it, the default test chosen over buckets")
  func evaluatesBinnedData() throws {
    var rng = SeededRandom(seed: 18)
    // 300 values: the sketch still holds every one, so its bin counts are exact.
    var sketch = KLLSketch()
    for _ in 0..<300 { try sketch.insert(rng.normal(mean: 0.5, sd: 0.1)) }
    let feature = DriftFeature(name: "brightness", type: .numerical)
    for reference in [FeatureSummary.numerical(sketch), try Self.binned(&rng, n: 800, mean: 0.5)] {
      for (mean, drifted) in [(0.5, false), (0.6, true)] {
        let current = try Self.binned(&rng, n: 800, mean: mean)
        let outcome = try DriftEvaluator.evaluate(features: [feature], reference: ["brightness": reference], current: ["brightness": current],
                                                  minSamples: 100, correction: nil, share: 0.5)
        guard case .decided(let results, _, _, let datasetDrift) = outcome else { Issue.record("no decision: \(outcome)"); continue }
        // ≤ 1,000 reference observations over 15 buckets: chi-squared, as Evidently for categories.
        #expect(results.first?.test == "chi2")
        #expect(datasetDrift == drifted, "reference \(reference.description), mean \(mean): \(results)")
      }
    }
    // Beyond 1,000: Jensen–Shannon over the buckets.
    let big = try Self.binned(&rng, n: 5000, mean: 0.5)
    guard case .decided(let results, _, _, _) = try DriftEvaluator.evaluate(
      features: [feature], reference: ["brightness": big], current: ["brightness": try Self.binned(&rng, n: 5000, mean: 0.5)],
      minSamples: 100, correction: nil, share: 0.5) else { Issue.record("no decision"); return }
    #expect(results.first?.test == "jensen-shannon" && results.first?.drifted == false)
  }

  @Test("A binned reference and current data of other buckets: BucketsMismatch naming both")
  func bucketsMismatch() throws {
    let reference = FeatureSummary.binned(try FixedBinHistogram(edges: [0.5], counts: [10, 10]))
    let current = FeatureSummary.binned(try FixedBinHistogram(edges: [0.25, 0.5], counts: [5, 5, 10]))
    let error = #expect(throws: DriftInputError.self) {
      try DriftEvaluator.evaluate(features: [Self.brightness], reference: ["brightness": reference], current: ["brightness": current],
                                  minSamples: 1, correction: nil, share: 0.5)
    }
    #expect(error?.reason == "BucketsMismatch" && error?.message.contains("bounds 0.5 are not the current data's 0.25,0.5") == true,
            "\(String(describing: error))")
  }

  @Test("A policy reading Prometheus is evaluated like any other (no longer SourceUnsupported); bad buckets are InvalidSpec")
  func plannerTakesPrometheusData() throws {
    var json = try DriftFixtures.policy(features: [["name": "brightness", "type": "numerical"]]).original
    json[path: ["spec", "source"]] = ["prometheus": ["address": "http://prometheus:9090", "query": .string(Self.query),
                                                     "buckets": ["brightness": [0.1, 0.2]]]]
    let policy = try DriftPolicy(json: json)
    let now = DriftFixtures.created.secondsSinceEpoch + 60
    let settings = try DriftPolicyPlanner.settings(policy.spec)
    let step = DriftPolicyPlanner.step(policy, settings: settings, hasBaseline: false, now: now)
    var rng = SeededRandom(seed: 7)
    let gathered = DriftPolicyPlanner.Gathered(step: step, current: .success(["brightness": try Self.binned(&rng, n: 500, mean: 0.8)]), pods: 0,
                                               reference: .success(["brightness": try Self.binned(&rng, n: 500, mean: 0.5)]))
    let plan = DriftPolicyPlanner.plan(.init(policy: policy, model: try DriftFixtures.model(), gathered: gathered, now: Timestamp(secondsSinceEpoch: now)))
    #expect(DriftFixtures.condition(plan, "Drifted")?.reason == "DatasetDrift")
    #expect(DriftFixtures.jobs(plan).count == 1)

    let unreachable = DriftPolicyPlanner.Gathered(step: step, current: .failure(DriftInputError("SourceUnreachable", "Prometheus at http://prometheus:9090 did not answer")),
                                                  pods: 0, reference: nil)
    let down = DriftPolicyPlanner.plan(.init(policy: policy, model: try DriftFixtures.model(), gathered: unreachable, now: Timestamp(secondsSinceEpoch: now)))
    #expect(DriftFixtures.condition(down, "Drifted")?.reason == "SourceUnreachable")
    #expect(down.status.attemptFailures == 1 && down.requeueAfter == .seconds(10))   // then 20 s, 40 s … never a loop
    #expect(DriftFixtures.jobs(down).isEmpty)

    json[path: ["spec", "source", "prometheus", "buckets"]] = ["brightness": [0.3, 0.2]]
    let bad = DriftPolicyPlanner.plan(.init(policy: try DriftPolicy(json: json), model: try DriftFixtures.model(), now: Timestamp(secondsSinceEpoch: now)))
    #expect(DriftFixtures.condition(bad, "Drifted")?.reason == "InvalidSpec")
  }

  @Test("The drift agent sidecar exports the buckets a Prometheus policy gives for its numerical features")
  func sidecarBuckets() throws {
    var json = try DriftFixtures.policy(features: [["name": "brightness", "type": "numerical"], ["name": "label", "type": "categorical"]]).original
    json[path: ["spec", "source"]] = ["prometheus": ["address": "http://p:9090", "query": "q", "buckets": ["brightness": [0.25, 0.5, 1]]]]
    let container = try #require(DriftAgentSidecar.container(policies: [try DriftPolicy(json: json)], image: "edgeml:1"))
    let args = container["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
    let at = try #require(args.firstIndex(of: "--buckets"))
    #expect(args[at + 1] == "brightness=0.25,0.5,1.0")
    #expect(args.filter { $0 == "--buckets" }.count == 1)
  }
}
