import KubeCore
import Testing
@testable import EdgeML

/// A/B tests on a continuous metric (latency): each pod's mean per request over one interval is a
/// sample, read from Triton's cumulative `nv_inference_request_duration_us` and request count.
@Suite struct RolloutContinuousABTests {
  let ab = RolloutABTestPlannerTests()

  func rollout(sequential: Bool, minSamples: Int = 20, better: String? = nil) throws -> Rollout {
    var r = try ab.rollout(sequential: sequential, kind: "continuous")
    r.spec.strategy.abTest?.metric.name = "nv_inference_request_duration_us"
    r.spec.strategy.abTest?.metric.better = better
    r.spec.strategy.abTest?.decision?.test = "mann-whitney"
    r.spec.strategy.abTest?.decision?.minSamples = minSamples
    return try Rollout(json: r.json)
  }

  /// Two pods per variant serving `requests` each per interval at `stableMs` / `candidateMs` mean
  /// latency, with a deterministic spread; cumulative, as the pods export them.
  struct Fleet {
    var totals: [String: (n: Int, sum: Double)] = [:]
    var state: UInt64 = 42
    mutating func noise() -> Double {
      state = state &* 6364136223846793005 &+ 1442695040888963407
      return Double(state >> 11) / Double(1 << 53) - 0.5
    }
    mutating func look(stableMs: Double, candidateMs: Double, requests: Int = 100) -> [String: [String: PodCounts]] {
      var out: [String: [String: PodCounts]] = [:]
      for (track, pods, ms) in [("stable", ["detector-orin-1", "detector-orin-2"], stableMs), ("candidate", ["detector-c-orin-1", "detector-c-orin-2"], candidateMs)] {
        for pod in pods {
          var t = totals[pod] ?? (0, 0)
          t.n += requests
          t.sum += Double(requests) * (ms + 2 * noise()) * 1000   // microseconds
          totals[pod] = t
          out[track, default: [:]][pod] = PodCounts(successes: t.n, failures: 0, sum: t.sum)
        }
      }
      return out
    }
  }

  /// Looks every minute until the rollout stops experimenting (or `limit` looks); the plans in order.
  func run(_ r0: Rollout, stableMs: Double, candidateMs: Double, limit: Int = 60) throws -> [RolloutPlanner.Plan] {
    var fleet = Fleet()
    let (start, m) = try ab.started(r0, baseline: fleet.look(stableMs: stableMs, candidateMs: candidateMs))
    var r = start
    var plans: [RolloutPlanner.Plan] = []
    for i in 1...limit {
      let p = ab.plan(r, m, at: ab.at(Int64(60 * i)), counts: fleet.look(stableMs: stableMs, candidateMs: candidateMs))
      plans.append(p)
      r = try RolloutPlannerTests().after(r, p)
      if p.status.abTest?.decision != "Undecided" { break }
    }
    return plans
  }

  @Test func aSlowerCandidateLosesOnLatencyAtTheFixedHorizonAndNotBefore() throws {
    let plans = try run(try rollout(sequential: false), stableMs: 10, candidateMs: 11)
    // Two pods per variant: two samples per look; 20 samples after the 10th look, not before.
    #expect(plans.count == 10)
    #expect(plans.dropLast().allSatisfy { $0.status.abTest?.decision == "Undecided" && $0.status.abTest?.pValue == nil })
    #expect(plans[3].status.abTest?.reason?.contains("8 of 20 samples") == true)
    let last = try #require(plans.last)
    let test = try #require(last.status.abTest)
    #expect(test.decision == "Winner" && test.winner == "a")
    #expect(test.variants?.map(\.samples) == [20, 20] && test.variants?.map(\.trials) == [2_000, 2_000])
    #expect(abs((test.variants?[1].mean ?? 0) - 11_000) < 300 && abs((test.variants?[0].mean ?? 0) - 10_000) < 300)
    // The shift is the candidate's extra latency per request, in the metric's unit (µs).
    #expect((test.pValue ?? 1) < 1e-4 && abs((test.effect ?? 0) - 1_000) < 400)
    #expect(last.status.phase == .aborted && last.status.abort?.reason == "ABTestLost")
    #expect(last.status.abort?.message.contains("per request") == true)
  }

  @Test func aFasterCandidateWinsTheSequentialTestAndIsPromoted() throws {
    let plans = try run(try rollout(sequential: true), stableMs: 10, candidateMs: 9)
    let last = try #require(plans.last)
    #expect(last.status.abTest?.winner == "b" && last.status.promotedAt != nil)
    #expect(last.status.abTest?.means?.map(\.count) == last.status.abTest?.variants?.map { $0.samples ?? -1 })
    #expect(last.status.abTest?.samples == nil)   // the sequential test keeps summaries only
  }

  @Test func withNoDifferenceTheSequentialTestKeepsLookingAndEndsWithTheDuration() throws {
    let plans = try run(try rollout(sequential: true), stableMs: 10, candidateMs: 10, limit: 150)
    // The experiment's 2h pass without a winner: no difference, a person decides.
    let last = try #require(plans.last)
    #expect(plans.count == 120 && last.status.abTest?.decision == "NoDifference")
    #expect(last.status.phase == .paused && last.status.pause?.reason == "ABTestDecided")
  }

  @Test func higherIsBetterForAScore() throws {
    let plans = try run(try rollout(sequential: false, better: "higher"), stableMs: 10, candidateMs: 11)
    #expect(plans.last?.status.abTest?.winner == "b")
  }

  @Test func aPodWhoseCountersWentBackOnlyRecordsWhereTheyAre() throws {
    var fleet = Fleet()
    let (r, m) = try ab.started(try rollout(sequential: false), baseline: fleet.look(stableMs: 10, candidateMs: 10))
    var counts = fleet.look(stableMs: 10, candidateMs: 10)
    counts["stable"]?["detector-orin-1"] = PodCounts(successes: 5, failures: 0, sum: 50_000)   // restarted
    let p = ab.plan(r, m, at: ab.at(60), counts: counts)
    #expect(p.status.abTest?.variants?.map(\.samples) == [1, 2])
    #expect(p.status.abTest?.baselines?["detector-orin-1"]?.successes == 5)
  }
}
