/// A line diff in the unified format `diff -u -N` prints, which `kubectl diff` runs by default
/// (kubectl `pkg/cmd/diff/diff.go`: "the \"diff\" command available in your path will be run with
/// the \"-u\" (unified diff) and \"-N\" (treat absent files as empty) options").
///
/// The hunk format is GNU diffutils' (its manual, "Detailed Description of Unified Format"): a
/// `--- old` and `+++ new` header, then hunks `@@ -l,s +l,s @@` of up to three lines of context
/// around the changes, where `l` is the first line of the hunk (the line before it when the hunk
/// is empty on that side) and `s` its length; ` `, `-` and `+` mark kept, removed and added lines.
enum UnifiedDiff {
  enum Line: Equatable {
    case keep(String), remove(String), add(String)

    /// Whether the line is in the old text (kept or removed).
    var isOld: Bool { if case .add = self { return false } else { return true } }
    /// Whether the line is in the new text (kept or added).
    var isNew: Bool { if case .remove = self { return false } else { return true } }
    var isChange: Bool { if case .keep = self { return false } else { return true } }
  }

  /// The edit script from `old` to `new` along a longest common subsequence of lines.
  ///
  /// - Complexity: O(n·m) time and memory for n and m lines; beyond 4 million cells the common
  ///   prefix and suffix are kept and the middle is replaced whole (manifests are far smaller).
  static func lines(_ old: [String], _ new: [String]) -> [Line] {
    var prefix = 0
    while prefix < old.count, prefix < new.count, old[prefix] == new[prefix] { prefix += 1 }
    var suffix = 0
    while suffix < old.count - prefix, suffix < new.count - prefix, old[old.count - 1 - suffix] == new[new.count - 1 - suffix] { suffix += 1 }
    let a = Array(old[prefix..<(old.count - suffix)]), b = Array(new[prefix..<(new.count - suffix)])
    var middle: [Line] = []
    if a.count * b.count > 4_000_000 {
      middle = a.map(Line.remove) + b.map(Line.add)
    } else {
      // lcs[i][j]: the longest common subsequence of a[i...] and b[j...].
      let width = b.count + 1
      var lcs = [Int32](repeating: 0, count: (a.count + 1) * width)
      for i in stride(from: a.count - 1, through: 0, by: -1) {
        for j in stride(from: b.count - 1, through: 0, by: -1) {
          lcs[i * width + j] = a[i] == b[j] ? lcs[(i + 1) * width + j + 1] + 1 : max(lcs[(i + 1) * width + j], lcs[i * width + j + 1])
        }
      }
      var i = 0, j = 0
      while i < a.count || j < b.count {
        if i < a.count, j < b.count, a[i] == b[j] {
          middle.append(.keep(a[i])); i += 1; j += 1
        } else if j == b.count || (i < a.count && lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
          middle.append(.remove(a[i])); i += 1
        } else {
          middle.append(.add(b[j])); j += 1
        }
      }
    }
    return old[..<prefix].map(Line.keep) + middle + old[(old.count - suffix)...].map(Line.keep)
  }

  /// The unified diff of two texts, empty when they are equal.
  static func render(old: String, new: String, oldName: String, newName: String, context: Int = 3) -> String {
    func split(_ s: String) -> [String] {
      var lines = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
      if lines.last == "" { lines.removeLast() }
      return lines
    }
    let script = lines(split(old), split(new))
    guard script.contains(where: \.isChange) else { return "" }
    var out = "--- \(oldName)\n+++ \(newName)\n"
    // Positions (in the script) of changed lines, grouped into hunks whose gaps exceed 2·context.
    let changed = script.indices.filter { script[$0].isChange }
    var hunks: [ClosedRange<Int>] = []
    for index in changed {
      let lower = max(0, index - context), upper = min(script.count - 1, index + context)
      if let last = hunks.last, lower <= last.upperBound + 1 {
        hunks[hunks.count - 1] = last.lowerBound...max(last.upperBound, upper)
      } else {
        hunks.append(lower...upper)
      }
    }
    // Line numbers of the script's positions on each side.
    var oldLine = [Int](repeating: 0, count: script.count + 1), newLine = oldLine
    for (k, line) in script.enumerated() {
      oldLine[k + 1] = oldLine[k] + (line.isOld ? 1 : 0)
      newLine[k + 1] = newLine[k] + (line.isNew ? 1 : 0)
    }
    for hunk in hunks {
      let oldCount = oldLine[hunk.upperBound + 1] - oldLine[hunk.lowerBound]
      let newCount = newLine[hunk.upperBound + 1] - newLine[hunk.lowerBound]
      let oldStart = oldCount == 0 ? oldLine[hunk.lowerBound] : oldLine[hunk.lowerBound] + 1
      let newStart = newCount == 0 ? newLine[hunk.lowerBound] : newLine[hunk.lowerBound] + 1
      out += "@@ -\(range(oldStart, oldCount)) +\(range(newStart, newCount)) @@\n"
      for line in script[hunk] {
        switch line {
        case .keep(let s): out += " \(s)\n"
        case .remove(let s): out += "-\(s)\n"
        case .add(let s): out += "+\(s)\n"
        }
      }
    }
    return out
  }

  /// `l,s`, or `l` alone when the length is 1 (as GNU diff prints it).
  static func range(_ start: Int, _ count: Int) -> String { count == 1 ? "\(start)" : "\(start),\(count)" }
}
