import Testing
@testable import EdgeML
@testable import KubeCore

/// The operator's series about its custom resources, as its /metrics renders them (after the
/// process's Prometheus registry).
@Suite("Object series on /metrics")
struct ResourceMetricsTests {
  /// The sample lines (no HELP/TYPE) rendered, sorted.
  static func lines(_ metrics: ObjectMetrics) -> [String] {
    String(decoding: metrics.render(), as: UTF8.self).split(separator: "\n")
      .filter { !$0.hasPrefix("#") }.map(String.init).sorted()
  }

  static func rolloutStatus(_ phase: RolloutPhase, step: Int, weight: Int) -> RolloutStatus {
    var status = RolloutStatus()
    status.phase = phase
    status.currentStep = step
    status.candidateWeight = weight
    return status
  }

  @Test("a Rollout shows its phase as one series per phase, its step and its candidate's weight as a ratio")
  func rolloutSeries() {
    let metrics = ObjectMetrics()
    metrics.setGauges("Rollout/edge/detector-v4", ResourceMetrics.rollout(namespace: "edge", name: "detector-v4", model: "detector",
                                                                        status: Self.rolloutStatus(.progressing, step: 2, weight: 25)))
    let lines = Self.lines(metrics)
    #expect(lines.contains(#"edgeml_rollout_phase{namespace="edge",rollout="detector-v4",edgemodel="detector",phase="Progressing"} 1.0"#))
    #expect(lines.contains(#"edgeml_rollout_phase{namespace="edge",rollout="detector-v4",edgemodel="detector",phase="Aborted"} 0.0"#))
    #expect(lines.filter { $0.hasPrefix("edgeml_rollout_phase{") }.count == 5)
    #expect(lines.contains(#"edgeml_rollout_step{namespace="edge",rollout="detector-v4",edgemodel="detector"} 2.0"#))
    #expect(lines.contains(#"edgeml_rollout_candidate_weight_ratio{namespace="edge",rollout="detector-v4",edgemodel="detector"} 0.25"#))
  }

  @Test("an aborted Rollout's phase moves to Aborted on the same series, and every series goes when it is deleted")
  func rolloutAbortedThenDeleted() throws {
    let metrics = ObjectMetrics()
    let key = "Rollout/edge/detector-v4"
    metrics.setGauges(key, ResourceMetrics.rollout(namespace: "edge", name: "detector-v4", model: "detector",
                                                   status: Self.rolloutStatus(.progressing, step: 1, weight: 10)))
    metrics.setGauges(key, ResourceMetrics.rollout(namespace: "edge", name: "detector-v4", model: "detector",
                                                   status: Self.rolloutStatus(.aborted, step: 1, weight: 0)))
    let measurement = Measurement(metric: "p99-latency", phase: .failed, value: "180", startedAt: Timestamp(secondsSinceEpoch: 0))
    let counter = try #require(ResourceMetrics.analysis(namespace: "edge", rollout: "detector-v4", model: "detector", measurement: measurement))
    metrics.increment(key, counter)
    metrics.increment(key, counter)
    // Another rollout stays when this one goes.
    metrics.setGauges("Rollout/edge/other", ResourceMetrics.rollout(namespace: "edge", name: "other", model: "detector",
                                                                    status: Self.rolloutStatus(.paused, step: 0, weight: 0)))
    var lines = Self.lines(metrics)
    #expect(lines.contains(#"edgeml_rollout_phase{namespace="edge",rollout="detector-v4",edgemodel="detector",phase="Aborted"} 1.0"#))
    #expect(lines.contains(#"edgeml_rollout_phase{namespace="edge",rollout="detector-v4",edgemodel="detector",phase="Progressing"} 0.0"#))
    #expect(lines.contains(#"edgeml_rollout_analysis_total{namespace="edge",rollout="detector-v4",edgemodel="detector",metric="p99-latency",result="failed"} 2"#))
    metrics.forget(key)
    lines = Self.lines(metrics)
    #expect(!lines.contains { $0.contains("detector-v4") }, "\(lines)")
    #expect(lines.filter { $0.contains(#"rollout="other""#) }.count == 7)
    #expect(metrics.keys == ["Rollout/edge/other"])
  }

  @Test("a running measurement counts nothing; a completed one counts under its phase in lower case, beside the other results at 0")
  func analysisCounter() throws {
    let start = Timestamp(secondsSinceEpoch: 0)
    #expect(ResourceMetrics.analysis(namespace: "n", rollout: "r", model: "m",
                                     measurement: Measurement(metric: "job", phase: .running, startedAt: start)) == nil)
    let id = ResourceMetrics.analysis(namespace: "n", rollout: "r", model: "m",
                                      measurement: Measurement(metric: "job", phase: .inconclusive, startedAt: start))
    #expect(id?.labels.last == SeriesID.Label(name: "result", value: "inconclusive"))
    let results = ResourceMetrics.analysisResults(namespace: "n", rollout: "r", model: "m", metric: "job")
    #expect(results.compactMap { $0.labels.last?.value } == ["successful", "failed", "inconclusive", "error"])
    #expect(results.contains(try #require(id)))
  }

  @Test("an EdgeModel shows its version, phase, ready replicas and one engine state per node group; a node group it leaves loses its series")
  func edgeModelSeries() {
    let metrics = ObjectMetrics()
    var status = EdgeModelStatus()
    status.phase = .degraded
    status.currentVersion = "3"
    status.readyReplicas = 2
    status.engines = [
      EngineStatus(key: "sha256:a", nodeGroup: NodeGroupFacts(module: "orin-nx-16gb", l4t: "36.4.3", tensorrt: "10.3.0", gpuArch: "sm_87"),
                   state: .built),
      EngineStatus(key: "sha256:b", nodeGroup: NodeGroupFacts(module: "xavier-nx-8gb", l4t: "35.6.0", tensorrt: "8.5.2", gpuArch: "sm_72"),
                   state: .failed),
    ]
    metrics.setGauges("EdgeModel/edge/detector", ResourceMetrics.edgeModel(namespace: "edge", name: "detector", specVersion: "4", status: status))
    var lines = Self.lines(metrics)
    #expect(lines.contains(#"edgeml_edgemodel_info{namespace="edge",edgemodel="detector",version="3"} 1.0"#))
    #expect(lines.contains(#"edgeml_edgemodel_phase{namespace="edge",edgemodel="detector",phase="Degraded"} 1.0"#))
    #expect(lines.contains(#"edgeml_edgemodel_ready_replicas{namespace="edge",edgemodel="detector"} 2.0"#))
    #expect(lines.contains(#"edgeml_edgemodel_engine_state{namespace="edge",edgemodel="detector",module="xavier-nx-8gb",l4t="35.6.0",tensorrt="8.5.2",state="Failed"} 1.0"#))
    #expect(lines.contains(#"edgeml_edgemodel_engine_state{namespace="edge",edgemodel="detector",module="orin-nx-16gb",l4t="36.4.3",tensorrt="10.3.0",state="Built"} 1.0"#))
    #expect(lines.filter { $0.hasPrefix("edgeml_edgemodel_engine_state{") }.count == 8)
    // The Xavier nodes leave the placement: their engine's series go, the Orin's stay.
    status.engines = [status.engines![0]]
    status.currentVersion = "4"
    metrics.setGauges("EdgeModel/edge/detector", ResourceMetrics.edgeModel(namespace: "edge", name: "detector", specVersion: "4", status: status))
    lines = Self.lines(metrics)
    #expect(!lines.contains { $0.contains("xavier") })
    #expect(!lines.contains { $0.contains(#"version="3""#) })
    #expect(lines.contains(#"edgeml_edgemodel_info{namespace="edge",edgemodel="detector",version="4"} 1.0"#))
    #expect(lines.filter { $0.hasPrefix("edgeml_edgemodel_engine_state{") }.count == 4)
  }

  @Test("the reconciler keeps only what an EdgeModel's series are made from, and they are made the same at each scrape")
  func edgeModelSeriesFromKeptStatus() throws {
    var status = EdgeModelStatus()
    status.phase = .ready
    status.currentVersion = "7"
    status.readyReplicas = 3
    status.conditions = [StatusCondition(type: "Ready", status: "True", reason: "AllReplicasReady", message: String(repeating: "x", count: 500))]
    status.engines = [EngineStatus(key: "sha256:a", nodeGroup: NodeGroupFacts(module: "orin-nx-16gb", l4t: "36.4.3", tensorrt: "10.3.0",
                                                                             gpuArch: "sm_87"),
                                   state: .building, buildSeconds: 41, cacheHits: 2, sizeBytes: 1 << 20, message: "building on jetson-1")]
    let kept = EdgeModelReconciler.seriesStatus(status)
    #expect(kept.conditions == nil && kept.engines?.first?.message == nil)
    let full = ObjectMetrics(), lazy = ObjectMetrics()
    full.setGauges("EdgeModel/edge/m", ResourceMetrics.edgeModel(namespace: "edge", name: "m", specVersion: "7", status: status))
    lazy.setGauges("EdgeModel/edge/m") { ResourceMetrics.edgeModel(namespace: "edge", name: "m", specVersion: "7", status: kept) }
    #expect(Self.lines(lazy) == Self.lines(full))
    #expect(Self.lines(lazy).count == 11)
    lazy.setGauges("EdgeModel/edge/m", nil)
    #expect(Self.lines(lazy).isEmpty && lazy.keys.isEmpty)
  }

  @Test("a DriftPolicy's features each get a p-value, statistic and drift flag; a feature dropped from the spec loses them")
  func driftSeries() {
    let metrics = ObjectMetrics()
    let results = [FeatureResult(name: "brightness", test: "ks", statistic: 0.31, pValue: 0.0004, threshold: 0.05, drifted: true),
                   FeatureResult(name: "contrast", test: "psi", statistic: 0.02, pValue: nil, threshold: 0.2, drifted: false)]
    metrics.setGauges("DriftPolicy/edge/d", ResourceMetrics.drift(namespace: "edge", policy: "d", results: results))
    var lines = Self.lines(metrics)
    #expect(lines.contains(#"edgeml_drift_p_value{namespace="edge",policy="d",feature="brightness"} 0.0004"#))
    #expect(lines.contains(#"edgeml_drift_detected{namespace="edge",policy="d",feature="brightness"} 1.0"#))
    #expect(lines.contains(#"edgeml_drift_detected{namespace="edge",policy="d",feature="contrast"} 0.0"#))
    // PSI is a distance: no p-value series.
    #expect(!lines.contains { $0.hasPrefix("edgeml_drift_p_value") && $0.contains("contrast") })
    metrics.setGauges("DriftPolicy/edge/d", ResourceMetrics.drift(namespace: "edge", policy: "d", results: [results[0]]))
    lines = Self.lines(metrics)
    #expect(!lines.contains { $0.contains("contrast") })
    #expect(lines.count == 3)
  }

  @Test("the rendering is Prometheus text: one TYPE line per name before its samples, label values escaped, counters as integers")
  func exposition() {
    let metrics = ObjectMetrics()
    metrics.setGauges("EdgeModel/edge/a", [(SeriesID("edgeml_test_gauge", ["namespace": "edge", "name": #"a"b\c"# + "\n"]), 0.5)])
    metrics.setGauges("EdgeModel/edge/b", [(SeriesID("edgeml_test_gauge", ["namespace": "edge", "name": "b"]), 2)])
    metrics.increment("Rollout/edge/r", SeriesID("edgeml_test_total", ["rollout": "r"]), by: 3)
    let text = String(decoding: metrics.render(), as: UTF8.self)
    #expect(text == """
      # TYPE edgeml_test_gauge gauge
      edgeml_test_gauge{namespace="edge",name="a\\"b\\\\c\\n"} 0.5
      edgeml_test_gauge{namespace="edge",name="b"} 2.0
      # TYPE edgeml_test_total counter
      edgeml_test_total{rollout="r"} 3

      """)
    metrics.forget("EdgeModel/edge/a")
    metrics.forget("EdgeModel/edge/b")
    metrics.forget("Rollout/edge/r")
    #expect(metrics.render().isEmpty)
  }
}
