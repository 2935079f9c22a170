import DriftStatistics
import KubeCore

/// The per-run settings of a test: `StatsOptions` as plain values (ArgumentParser's property
/// wrappers can only be read after parsing, and batch cases build settings from JSON).
struct StatsSettings {
  var alternative = "two-sided"
  var method = "auto"
  var bins: Int?
  var base = "e"
  var correction = "none"
  var noYates = false
}

extension StatsOptions {
  /// The options as settings; a `--bins` that is not a whole number from 1 to 1000000 is bad input (exit 2).
  func settings() throws -> StatsSettings {
    var parsedBins: Int?
    if let bins {
      guard let value = Int(bins), (1...1_000_000).contains(value) else {
        throw StatsInputError("--bins must be a whole number from 1 to 1000000, not '\(bins)'")
      }
      parsedBins = value
    }
    return StatsSettings(alternative: alternative, method: method, bins: parsedBins, base: base, correction: correction, noYates: noYates)
  }
}

/// The tests `edgeml stats` knows, by their command-line names.
enum StatsTest: String, CaseIterable {
  case ks, chi2, chi2Contingency = "chi2-contingency", fisher, psi, jensenShannon = "jensen-shannon", kl,
    hellinger, wasserstein, energy, andersonKSample = "anderson-ksamp", cramervonmises, mannwhitney,
    twoProportion = "two-proportion"
}

/// Runs `test` on the given inputs and returns the JSON object `edgeml stats` prints.
///
/// For multi-feature inputs (JSON objects in both files) the test runs per feature and the p-values are
/// adjusted with `options.correction`. `computeSeconds` is always present; callers drop it unless
/// `--timing` was given.
func runStatsRequest(test name: String, reference: StatsData?, current: StatsData?, options: StatsSettings, measureTime: Bool) throws -> JSONValue {
  guard let test = StatsTest(rawValue: name) else {
    throw StatsInputError("unknown test '\(name)'; expected one of \(StatsTest.allCases.map(\.rawValue).joined(separator: ", "))")
  }
  let correction: PValueCorrection?
  switch options.correction {
  case "none": correction = nil
  case let other:
    guard let c = PValueCorrection(rawValue: other) else { throw StatsInputError("--correction must be none, bonferroni, holm or bh") }
    correction = c
  }
  if case .features(let referenceFeatures)? = reference, case .features(let currentFeatures)? = current {
    let currentByName = Dictionary(currentFeatures.map { ($0.name, $0.data) }, uniquingKeysWith: { a, _ in a })
    var rows: [(String, PreparedTest.Outcome)] = []
    var seconds = 0.0
    for feature in referenceFeatures {
      guard let other = currentByName[feature.name] else { throw StatsInputError("feature '\(feature.name)' is missing from --current") }
      let prepared = try PreparedTest(test, reference: feature.data, current: other, options: options)
      let outcome = try prepared.run()
      seconds += outcome.seconds
      rows.append((feature.name, outcome))
    }
    let pValues = rows.compactMap { $0.1.result.pValue }
    let adjusted = (correction != nil && pValues.count == rows.count && !pValues.isEmpty) ? try adjustPValues(pValues, method: correction ?? .bh) : pValues
    var features: [JSONValue] = []
    for (i, row) in rows.enumerated() {
      var object = row.1.json(test: test)
      object.appendUnchecked("feature", .string(row.0))
      if correction != nil, i < adjusted.count, pValues.count == rows.count { object.appendUnchecked("adjustedPValue", jsonNumber(adjusted[i])) }
      features.append(.object(object))
    }
    return .object(["test": .string(test.rawValue), "correction": .string(options.correction),
                    "features": .array(features), "computeSeconds": jsonNumber(seconds)])
  }
  let outcome = try PreparedTest(test, reference: reference, current: current, options: options).run()
  var object = outcome.json(test: test)
  object.appendUnchecked("computeSeconds", jsonNumber(outcome.seconds))
  return .object(object)
}

/// One case of `edgeml stats batch`: its result object, or {"error": message}.
func runBatchCase(_ item: JSONValue) -> JSONValue {
  do {
    guard case .object(let object) = item, case .string(let test)? = object["test"] else {
      throw StatsInputError("each case needs a \"test\" string")
    }
    var options = StatsSettings()
    if case .string(let s)? = object["alternative"] { options.alternative = s }
    if case .string(let s)? = object["method"] { options.method = s }
    if case .number(let n)? = object["bins"] { options.bins = n.int }
    if case .string(let s)? = object["base"] { options.base = s }
    if case .bool(let b)? = object["noYates"] { options.noYates = b }
    let reference = try object["reference"].map { try StatsData(json: $0, path: "reference") }
    let current = try object["current"].map { try StatsData(json: $0, path: "current") }
    if test == "distribution" {
      // Hidden: evaluate a survival function directly, so the property test can grid each branch.
      guard case .string(let name)? = object["name"], case .number(let xn)? = object["x"], let x = xn.double else {
        throw StatsInputError("distribution cases need name and x")
      }
      var n = 0, df = 0.0
      if case .number(let v)? = object["n"] { n = v.int ?? 0 }
      if case .number(let v)? = object["df"] { df = v.double ?? 0 }
      let value: Double
      switch name {
      case "kstwo": value = KolmogorovDistribution.sf(x, n: n)
      case "smirnov": value = SmirnovDistribution.sf(n: n, x: x)
      case "kolmogorov": value = LimitingKolmogorovDistribution.sf(x)
      case "chi2": value = ChiSquaredDistribution.sf(x, degreesOfFreedom: df)
      case "norm": value = NormalDistribution.sf(x)
      default: throw StatsInputError("unknown distribution '\(name)'")
      }
      return .object(["sf": jsonNumber(value)])
    }
    if test == "adjust" {
      guard let reference, let method = PValueCorrection(rawValue: options.method) else { throw StatsInputError("adjust needs reference p-values and a method") }
      let adjusted = try adjustPValues(try reference.numbers(name: "p-values"), method: method)
      return .object(["method": .string(options.method), "adjusted": .array(adjusted.map(jsonNumber))])
    }
    return try runStatsRequest(test: test, reference: reference, current: current, options: options, measureTime: false)
  } catch {
    return .object(["error": .string("\(error)")])
  }
}

func jsonNumber(_ value: Double) -> JSONValue { value.isFinite ? .number(JSONNumber(value)) : .null }

/// A test with its inputs converted and validated, ready to be timed.
struct PreparedTest {
  struct Outcome {
    var result: DriftTestResult
    var extra: [(String, JSONValue)]
    var seconds: Double

    func json(test: StatsTest) -> JSONObject {
      var object = JSONObject()
      object.appendUnchecked("test", .string(test.rawValue))
      object.appendUnchecked("statistic", jsonNumber(result.statistic))
      object.appendUnchecked("pValue", result.pValue.map(jsonNumber) ?? .null)
      object.appendUnchecked("n", .array(result.sampleSizes.map { .number(JSONNumber($0)) }))
      for (key, value) in extra { object.appendUnchecked(key, value) }
      return object
    }
  }

  private let compute: () throws -> (DriftTestResult, [(String, JSONValue)])

  init(_ test: StatsTest, reference: StatsData?, current: StatsData?, options: StatsSettings) throws {
    let alternative = try parseAlternative(options.alternative)
    func samples() throws -> ([Double], [Double]) {
      guard let reference else { throw StatsInputError("--reference FILE is required for \(test.rawValue)") }
      guard let current else { throw StatsInputError("--current FILE is required for \(test.rawValue)") }
      return (try reference.numbers(name: "reference"), try current.numbers(name: "current"))
    }
    func plain(_ body: @escaping () throws -> DriftTestResult) -> () throws -> (DriftTestResult, [(String, JSONValue)]) {
      { (try body(), []) }
    }
    switch test {
    case .ks:
      guard let method = KolmogorovSmirnovMethod(rawValue: options.method) else { throw StatsInputError("--method must be auto, exact or asymp for ks") }
      let (a, b) = try samples()
      compute = {
        let r = try kolmogorovSmirnovTwoSample(reference: a, current: b, alternative: alternative, method: method)
        return (r.driftTestResult, [("statisticLocation", jsonNumber(r.statisticLocation)),
                                    ("statisticSign", .number(JSONNumber(r.statisticSign))),
                                    ("method", .string(r.methodUsed.rawValue))])
      }
    case .mannwhitney:
      let method: MannWhitneyMethod = try parseMethod(options.method, test: test)
      let (a, b) = try samples()
      compute = plain { try mannWhitneyU(reference: a, current: b, alternative: alternative, method: method) }
    case .cramervonmises:
      let method: CramerVonMisesMethod = try parseMethod(options.method, test: test)
      let (a, b) = try samples()
      compute = plain { try cramerVonMisesTwoSample(reference: a, current: b, method: method) }
    case .andersonKSample:
      let (a, b) = try samples()
      compute = plain { try andersonDarlingKSample([a, b]) }
    case .wasserstein:
      let (a, b) = try samples()
      compute = plain { try wassersteinDistance(reference: a, current: b) }
    case .energy:
      let (a, b) = try samples()
      compute = plain { try energyDistance(reference: a, current: b) }
    case .psi:
      if case .categories(let r, _)? = reference, case .categories(let c, _)? = current {
        let counts = categoryCounts(r, c)
        compute = plain {
          DriftTestResult(statistic: populationStabilityIndex(referenceCounts: counts.reference, currentCounts: counts.current),
                          pValue: nil, sampleSizes: [r.count, c.count])
        }
      } else {
        let (a, b) = try samples()
        let bins = options.bins ?? 10
        compute = plain { try populationStabilityIndex(reference: a, current: b, bins: bins) }
      }
    case .jensenShannon, .kl, .hellinger:
      let base: Double?
      switch options.base {
      case "e": base = nil
      case "2": base = 2
      default: throw StatsInputError("--base must be 2 or e")
      }
      let (p, q) = try distributions(reference, current, bins: options.bins)
      switch test {
      case .jensenShannon: compute = plain { try jensenShannonDistance(reference: p, current: q, base: base) }
      case .kl: compute = plain { try kullbackLeiblerDivergence(reference: p, current: q, base: base) }
      default: compute = plain { try hellingerDistance(reference: p, current: q) }
      }
    case .chi2:
      guard let current else { throw StatsInputError("--current FILE is required for chi2") }
      if case .categories(let c, _) = current, case .categories(let r, _)? = reference {
        let counts = categoryCounts(r, c)
        compute = plain { try chiSquaredGoodnessOfFit(observed: counts.current, expected: scaled(counts.reference, to: counts.current)) }
      } else {
        let observed = try current.numbers(name: "current")
        let expected = try reference.map { try scaled($0.numbers(name: "reference"), to: observed) }
        compute = plain { try chiSquaredGoodnessOfFit(observed: observed, expected: expected) }
      }
    case .chi2Contingency:
      let table = try contingencyTable(reference, current)
      let yates = !options.noYates
      compute = {
        let r = try chiSquaredContingency(observed: table, yatesCorrection: yates)
        return (r.driftTestResult, [("dof", .number(JSONNumber(r.degreesOfFreedom)))])
      }
    case .fisher:
      let table = try twoByTwo(reference, current)
      compute = plain { try fisherExact(table: table, alternative: alternative) }
    case .twoProportion:
      let (a, b) = try samples()
      guard a.count == 2, b.count == 2 else { throw StatsInputError("two-proportion files hold [successes, trials]") }
      let x1 = try exactInteger(a[0]), n1 = try exactInteger(a[1]), x2 = try exactInteger(b[0]), n2 = try exactInteger(b[1])
      compute = plain { try twoProportionZTest(successes1: x1, trials1: n1, successes2: x2, trials2: n2, alternative: alternative) }
    }
  }

  /// Runs the computation, timing it alone.
  func run() throws -> Outcome {
    let clock = ContinuousClock()
    let start = clock.now
    let (result, extra) = try compute()
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    return Outcome(result: result, extra: extra, seconds: seconds)
  }
}

/// auto | exact | asymptotic (also spelled asymp, as for ks).
private func parseMethod<Method: RawRepresentable>(_ text: String, test: StatsTest) throws -> Method where Method.RawValue == String {
  guard let method = Method(rawValue: text == "asymp" ? "asymptotic" : text) else {
    throw StatsInputError("--method must be auto, exact or asymptotic for \(test.rawValue)")
  }
  return method
}

private func parseAlternative(_ text: String) throws -> Alternative {
  guard let alternative = Alternative(rawValue: text) else { throw StatsInputError("--alternative must be two-sided, less or greater") }
  return alternative
}

/// Reference counts scaled to the current total (Evidently's expected frequencies for chi2).
private func scaled(_ reference: [Double], to current: [Double]) throws -> [Double] {
  for v in reference where !(v >= 0 && v <= Double(maximumExactCount)) {
    throw StatsInputError("the reference counts must be numbers from 0 to 2^53 = 9007199254740992, not \(v)")
  }
  let r = reference.reduce(0, +), c = current.reduce(0, +)
  guard r > 0, r.isFinite else { throw StatsInputError("the reference counts must have a positive, finite sum") }
  return reference.map { $0 * (c / r) }
}

/// Two discrete distributions: count vectors, category counts, or raw samples binned at reference quantiles.
private func distributions(_ reference: StatsData?, _ current: StatsData?, bins: Int?) throws -> ([Double], [Double]) {
  guard let reference, let current else { throw StatsInputError("--reference and --current are required") }
  if case .categories(let r, _) = reference, case .categories(let c, _) = current {
    let counts = categoryCounts(r, c)
    return (counts.reference, counts.current)
  }
  let p = try reference.numbers(name: "reference"), q = try current.numbers(name: "current")
  guard let bins else { return (p, q) }
  let histogram = try quantileHistograms(reference: p, current: q, bins: bins)
  return (histogram.reference, histogram.current)
}

private func contingencyTable(_ reference: StatsData?, _ current: StatsData?) throws -> [[Double]] {
  if case .table(let t)? = reference, current == nil { return t }
  if case .categories(let r, _)? = reference, case .categories(let c, _)? = current {
    let counts = categoryCounts(r, c)
    return [counts.reference, counts.current]
  }
  guard let reference, let current else { throw StatsInputError("chi2-contingency needs a table in --reference or two count files") }
  return [try reference.numbers(name: "reference"), try current.numbers(name: "current")]
}

private func twoByTwo(_ reference: StatsData?, _ current: StatsData?) throws -> [[Int]] {
  if case .table(let t)? = reference, current == nil {
    return try t.map { try $0.map(exactInteger) }
  }
  guard let reference, let current else { throw StatsInputError("fisher needs a 2×2 table in --reference or [successes, trials] in both files") }
  let a = try reference.numbers(name: "reference"), b = try current.numbers(name: "current")
  guard a.count == 2, b.count == 2 else { throw StatsInputError("fisher files hold [successes, trials]") }
  let x1 = try exactInteger(a[0]), n1 = try exactInteger(a[1]), x2 = try exactInteger(b[0]), n2 = try exactInteger(b[1])
  guard x1 >= 0, x1 <= n1, x2 >= 0, x2 <= n2 else { throw StatsInputError("successes must lie between 0 and trials") }
  return [[x1, n1 - x1], [x2, n2 - x2]]
}

/// A count as an Int: a whole number in 0…2⁵³ (negative counts are left to the library's message).
private func exactInteger(_ value: Double) throws -> Int {
  guard value.isFinite, value == value.rounded() else { throw StatsInputError("expected a whole count, got \(value)") }
  guard value.magnitude <= Double(maximumExactCount) else {
    throw StatsInputError("the count \(value) exceeds 2^53 = 9007199254740992, the largest count a Double holds exactly")
  }
  return Int(value)
}
