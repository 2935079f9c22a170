import ArgumentParser
import DriftStatistics
import KubeCore

/// `edgeml stats`: drift and A/B statistics on files, printing one JSON object.
///
/// `edgeml stats TEST --reference FILE --current FILE [options]` runs one test; `edgeml stats adjust`
/// corrects a list of p-values. Every value the user can get wrong (the test name, `--alternative`,
/// `--method`, `--bins`, file contents) is a plain string checked in `run()`, and ArgumentParser's own
/// usage errors under `stats` are mapped (`badInput(forUsageError:arguments:)`), so bad input always
/// ends with a message on stderr and exit status 2 rather than ArgumentParser's usage error (64).
struct StatsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "stats",
    abstract: "Drift statistics (KS, chi², PSI, JS, Wasserstein, …) on files, as JSON.",
    discussion: StatsTestCommand.fileFormats,
    subcommands: [StatsTestCommand.self, StatsAdjustCommand.self, StatsBatchCommand.self, StatsSketchCommand.self,
                  StatsNumbersCommand.self, StatsDriftBenchCommand.self, StatsSketchMergeBenchCommand.self],
    defaultSubcommand: StatsTestCommand.self
  )
}

/// The options every test accepts (also the per-case keys of `edgeml stats batch`).
struct StatsOptions: ParsableArguments {
  @Option(help: "two-sided | less | greater (ks, mannwhitney, fisher, two-proportion).")
  var alternative: String = "two-sided"
  @Option(help: "auto | exact | asymp (ks); auto | exact | asymptotic (mannwhitney, cramervonmises).")
  var method: String = "auto"
  // `.unconditional`: `--bins -3` is a bad value (exit 2, "must be at least 1"), not a missing one.
  @Option(parsing: .unconditional, help: "Quantile bins from the reference (psi; jensen-shannon/kl/hellinger on raw samples).")
  var bins: String?
  @Option(help: "Logarithm base for jensen-shannon and kl: 2 or e.")
  var base: String = "e"
  @Option(help: "none | bonferroni | holm | bh, across the features of a multi-feature file.")
  var correction: String = "none"
  @Flag(help: "Chi-squared contingency without Yates' correction (scipy's correction=False).")
  var noYates = false
}

struct StatsTestCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "test",
    abstract: "Run one test: edgeml stats TEST --reference FILE --current FILE.",
    shouldDisplay: false
  )

  static let fileFormats = """
    USAGE: edgeml stats TEST --reference FILE --current FILE [options]
    TEST: \(StatsTest.allCases.map(\.rawValue).joined(separator: ", ")).

    FILE: numbers one per line ('#' comments; nan, inf allowed) or a JSON
    array. Per test:
    - ks, mannwhitney, cramervonmises, anderson-ksamp, wasserstein, energy,
      psi: raw samples.
    - psi, jensen-shannon, kl, hellinger, chi2, chi2-contingency: strings
      are categories, counted over the sorted union of both files.
    - jensen-shannon, kl, hellinger: numbers are count or probability
      vectors of equal length, or raw samples binned at reference
      quantiles when --bins is given.
    - chi2: count vectors; expected = reference scaled to the current
      total (as Evidently); no --reference means uniform expected counts.
    - chi2-contingency: a JSON 2-D table in --reference, or two count
      vectors as its rows.
    - fisher, two-proportion: each file is [successes, trials]; fisher
      also takes a 2x2 JSON table in --reference.
    A JSON object {"feature": array, ...} in both files runs the test per
    feature, and --correction adjusts the p-values across features.
    Output: one JSON object; bad input: a message on stderr, exit 2.
    """

  @Argument(help: "The test to run.") var test: String
  @Option(help: "Reference sample file.") var reference: String?
  @Option(help: "Current sample file.") var current: String?
  @OptionGroup var options: StatsOptions
  @Flag(help: "Add computeSeconds, the time of the computation alone.") var timing = false

  func run() throws {
    try exitingOnBadInput {
      let referenceValue = try reference.map { try readStatsFile($0).data }
      let currentValue = try current.map { try readStatsFile($0).data }
      var output = try runStatsRequest(test: test, reference: referenceValue, current: currentValue,
                                       options: try options.settings(), measureTime: timing)
      if !timing, case .object(var object) = output { _ = object.removeValue(forKey: "computeSeconds"); output = .object(object) }
      print(output.serializedString())
    }
  }
}

struct StatsAdjustCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "adjust", abstract: "Adjust p-values for multiple testing: bonferroni, holm or bh.")

  @Option(help: "File of p-values (one per line or a JSON array).") var pvalues: String?
  @Option(help: "bonferroni | holm | bh") var method: String = "bh"

  func run() throws {
    try exitingOnBadInput {
      guard let pvalues else { throw StatsInputError("--pvalues FILE is required") }
      guard let correction = PValueCorrection(rawValue: method) else {
        throw StatsInputError("--method must be bonferroni, holm or bh, not '\(method)'")
      }
      let values = try readStatsFile(pvalues).numbers(name: "p-values")
      let adjusted = try adjustPValues(values, method: correction)
      let output: JSONValue = .object(["method": .string(method), "adjusted": .array(adjusted.map { .number(JSONNumber($0)) })])
      print(output.serializedString())
    }
  }
}

/// Runs many cases from one JSON file in one process (the property tests' fast path).
struct StatsBatchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "batch",
    abstract: "Run a JSON array of {test, reference, current, options…} cases; print a JSON array.",
    shouldDisplay: false
  )

  @Option(help: "The JSON file of cases.") var cases: String

  func run() throws {
    try exitingOnBadInput {
      guard case .array(let items) = try readJSONFile(cases) else { throw StatsInputError("--cases must hold a JSON array") }
      var results: [JSONValue] = []
      results.reserveCapacity(items.count)
      for item in items { results.append(runBatchCase(item)) }
      print(JSONValue.array(results).serializedString())
    }
  }
}

/// Sketches a file of numbers and reports the sketch's size (the benchmark's memory figure).
struct StatsSketchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sketch", abstract: "Report the KLL sketch size for a file of numbers.", shouldDisplay: false)

  @Option(help: "File of numbers.") var values: String
  @Option(parsing: .unconditional, help: "KLL accuracy parameter, 8 to 1000000.") var k: String = "400"

  func run() throws {
    try exitingOnBadInput {
      guard let k = Int(k), (8...1_000_000).contains(k) else { throw StatsInputError("--k must be a whole number from 8 to 1000000, not '\(k)'") }
      var sketch = KLLSketch(k: k)
      try sketch.insert(contentsOf: try readStatsFile(values).numbers(name: "values"))
      let output: JSONValue = .object([
        "count": .number(JSONNumber(sketch.count)), "k": .number(JSONNumber(sketch.k)),
        "retained": .number(JSONNumber(sketch.retainedCount)), "bytes": .number(JSONNumber(sketch.serializedBytes)),
        "rankErrorBound": jsonNumber(KLLSketch.normalizedRankError(k: sketch.k)),
      ])
      print(output.serializedString())
    }
  }
}

/// Prints the numbers of a file as the tests read them: to check an input, and the reader's own test
/// (acceptance/drift/test_stats_cli.py compares them with Python's correctly rounded `float`).
struct StatsNumbersCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "numbers", abstract: "Print a file's numbers as a JSON array (null for ±inf and NaN).", shouldDisplay: false)

  @Option(help: "File of numbers.") var values: String

  func run() throws {
    try exitingOnBadInput {
      let numbers = try readStatsFile(values).numbers(name: "values")
      print(JSONValue.array(numbers.map(jsonNumber)).serializedString())
    }
  }
}

extension StatsCommand {
  /// For a command line of `edgeml stats` (or `validate`, `diff`), turns an ArgumentParser usage error (exit 64: a missing
  /// value, an unknown option) into bad input: prints `error: …` and a hint on stderr and returns
  /// `ExitCode(2)`. Any other error, or another command's, is returned unchanged.
  static func badInput(forUsageError error: Error, arguments: [String]) -> Error {
    // `edgeml validate` and `edgeml diff` promise exit status 2 for usage errors too (docs/validate.md).
    let commands = [configuration.commandName, ValidateCommand.configuration.commandName, DiffCommand.configuration.commandName]
    guard let command = arguments.first, commands.contains(command), EdgeMLCommand.exitCode(for: error) == .validationFailure else { return error }
    var stderr = StandardError()
    print("error: \(EdgeMLCommand.message(for: error))", to: &stderr)
    print(command == "stats" ? "Run 'edgeml stats --help' for the tests, files and options." : "Run 'edgeml \(command) --help' for its usage.", to: &stderr)
    return ExitCode(2)
  }
}

/// Prints `error: …` on stderr and exits with status 2 for any error `body` throws.
func exitingOnBadInput(_ body: () throws -> Void) throws {
  do {
    try body()
  } catch let error as ExitCode {
    throw error
  } catch {
    var stderr = StandardError()
    print("error: \(error)", to: &stderr)
    throw ExitCode(2)
  }
}
