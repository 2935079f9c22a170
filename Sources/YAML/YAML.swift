// Interim: JSON-only until the libyaml-backed parser lands (branch `core`).
import KubeCore
public struct YAMLError: Error, CustomStringConvertible { public var description: String }
public enum YAML {
  public static func parse(_ text: String) throws -> JSONValue {
    do { return try JSONValue(parsing: text) } catch { throw YAMLError(description: "\(error)") }
  }
}
