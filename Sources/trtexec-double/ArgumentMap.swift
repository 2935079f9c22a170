/// trtexec's view of its command line: every argument split once at its first `=`.
///
/// Modelled on `argsToArgumentsMap` (`samples/common/sampleOptions.cpp` @v10.3.0 l.937, same in
/// 8.5.2): `--onnx=model.onnx` becomes key `--onnx`, value `model.onnx`; an argument without `=`
/// becomes a key with an empty value. trtexec has **no** `--flag value` form: `--onnx model.onnx`
/// is the key `--onnx` with an empty value plus a key `model.onnx`, which no option claims, so the
/// run fails with `Unknown option: model.onnx ` (trtexec.cpp @v10.3.0 l.236-246). Options take
/// their key out of the map (`getAndDelOption`); whatever remains is unknown.
///
/// The real map is a `std::unordered_multimap`, so the order of the `Unknown option` lines is the
/// hash order (a real 10.3 log prints `--workspace`, `--buildOnly`, `--explicitBatch` for a command
/// line that gave them as `--explicitBatch … --workspace … --buildOnly`, trtexec.md §2); the double
/// prints them in command-line order.
struct ArgumentMap {
  struct Entry: Equatable {
    var key: String
    var value: String
    var position: Int
  }
  private(set) var entries: [Entry]

  init(_ arguments: ArraySlice<String>) {
    entries = arguments.enumerated().map { offset, argument in
      if let eq = argument.firstIndex(of: "=") {
        return Entry(key: String(argument[..<eq]), value: String(argument[argument.index(after: eq)...]), position: offset + 1)
      }
      return Entry(key: argument, value: "", position: offset + 1)
    }
  }

  var isEmpty: Bool { entries.isEmpty }

  /// Takes the first occurrence of `key` and returns its value (`getAndDelOption` for strings).
  mutating func take(_ key: String) -> String? {
    guard let i = entries.firstIndex(where: { $0.key == key }) else { return nil }
    return entries.remove(at: i).value
  }

  /// Takes a Boolean flag: present (with any value) means on (`getAndDelOption` for `bool`).
  mutating func takeFlag(_ key: String) -> Bool { take(key) != nil }
}
