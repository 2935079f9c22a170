import KubeCore

/// The size limit of one stored object, which kube-apiserver inherits from etcd.
///
/// etcd refuses a write larger than `--max-request-bytes` (1.5 MiB by default, etcd
/// `embed.DefaultMaxRequestBytes`) with "etcdserver: request is too large"; kube-apiserver passes
/// that storage error on as a `Status` with code 500 and no reason (apimachinery
/// pkg/api/errors `ErrorToAPIStatus` for an error that is not an `APIStatus`), which kubectl prints as
/// `Error from server: etcdserver: request is too large`. Request bodies are capped at 3 MiB before
/// that (`APIServer.maxRequestBodyBytes`), so only an object that is larger than its body can get
/// here: a small YAML document whose aliases expand to a large one.
enum StorageLimit {
  /// etcd's default `--max-request-bytes`.
  static let maxObjectBytes = 1_572_864

  static let requestTooLarge = APIError(code: 500, reason: "", message: "etcdserver: request is too large")

  /// Whether `value`, written as JSON, would take more than `limit` bytes. Counts without writing
  /// and stops as soon as the limit is passed, so an expansion of any size costs at most `limit`.
  static func exceeds(_ value: JSONValue, limit: Int = maxObjectBytes) -> Bool {
    var remaining = limit
    return !fits(value, &remaining)
  }

  private static func fits(_ value: JSONValue, _ remaining: inout Int) -> Bool {
    switch value {
    case .null: remaining -= 4
    case .bool(let b): remaining -= b ? 4 : 5
    case .number(let n): remaining -= n.literal.utf8.count
    case .string(let s): remaining -= s.utf8.count + 2
    case .array(let items):
      remaining -= 2 + max(0, items.count - 1)
      for item in items { guard remaining >= 0, fits(item, &remaining) else { return false } }
    case .object(let object):
      remaining -= 2 + max(0, object.count - 1)
      for (key, item) in object {
        remaining -= key.utf8.count + 3
        guard remaining >= 0, fits(item, &remaining) else { return false }
      }
    }
    return remaining >= 0
  }
}
