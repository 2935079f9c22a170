import KubeCore

/// Why a PATCH body could not be applied, with the answer kube-apiserver gives for it.
///
/// Each case says what failed; `statusCode`, `reason` and `message` are what the emulator writes
/// into the `Status` it returns, and `detail` is the library's own wording (evanphx/json-patch or
/// apimachinery's strategicpatch) for logs and tests.
///
/// How kube-apiserver maps patch failures (kubernetes/apiserver `pkg/endpoints/handlers/patch.go`):
/// - a JSON Patch body that does not decode as an array of operations: `errors.NewBadRequest` → 400
///   `BadRequest`, message = the decoder's text (`applyJSPatch`);
/// - any failure while *applying* a JSON Patch — `test` mismatch, missing path, bad index, unknown op —:
///   `errors.NewGenericServerResponse(http.StatusUnprocessableEntity, …)` → 422 `Invalid` whose message is
///   the fixed "the server rejected our request due to an error in our request" (apimachinery
///   `pkg/api/errors/errors.go`, `NewGenericServerResponse`). A failed `test` is **not** a 409 Conflict;
/// - more than 10 000 JSON Patch operations: 413 `RequestEntityTooLarge` (`maxJSONPatchOperations`);
/// - a strategic merge patch body that is not a JSON object, or a malformed `$deleteFromPrimitiveList`,
///   `$retainKeys` or `$setElementOrder` directive: 400 `BadRequest` with the error text
///   (`interpretStrategicMergePatchError`);
/// - a list of lists in a strategic merge patch: 422 `Invalid` with the generic message;
/// - every other strategicpatch error (unknown `$patch` value, element without its merge key, mixed
///   element types, …) is returned unconverted and rendered by `responsewriters.ErrorToAPIStatus` as
///   500 with an empty reason and the error text as message.
public enum PatchError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The body is not the JSON shape the patch type needs (a JSON Patch that is not an array of
  /// operation objects, a strategic merge patch that is not an object). 400 `BadRequest`.
  case malformedPatch(detail: String)
  /// A JSON Patch with more operations than kube-apiserver accepts. 413 `RequestEntityTooLarge`.
  case tooManyOperations(count: Int)
  /// JSON Patch operation number `index` (from 0) could not be applied: a missing path or member, an
  /// index out of range, an unknown `op`, a missing `path`/`from`/`value`. 422 `Invalid`.
  case operationFailed(index: Int, detail: String)
  /// JSON Patch `test` operation number `index` found a different value at `path`. 422 `Invalid`.
  case testFailed(index: Int, path: String)
  /// A strategic merge patch directive (`$deleteFromPrimitiveList/…`, `$retainKeys`,
  /// `$setElementOrder/…`) is malformed. 400 `BadRequest`.
  case malformedDirective(detail: String)
  /// A strategic merge patch merges a list whose elements are lists. 422 `Invalid`.
  case listOfLists
  /// Another strategic merge failure (unknown `$patch` value, an element without its merge key,
  /// mixed element types, …). 500 with an empty reason, as upstream does not classify these.
  case mergeFailed(detail: String)

  /// The maximum number of operations kube-apiserver accepts in one JSON Patch
  /// (`maxJSONPatchOperations` in kubernetes/apiserver `pkg/endpoints/handlers/patch.go`).
  public static let maximumJSONPatchOperations = 10_000

  /// The HTTP status code kube-apiserver answers with.
  public var statusCode: Int {
    switch self {
    case .malformedPatch, .malformedDirective: return 400
    case .tooManyOperations: return 413
    case .operationFailed, .testFailed, .listOfLists: return 422
    case .mergeFailed: return 500
    }
  }

  /// The `Status.reason` kube-apiserver writes (`""` is `StatusReasonUnknown`).
  public var reason: String {
    switch self {
    case .malformedPatch, .malformedDirective: return "BadRequest"
    case .tooManyOperations: return "RequestEntityTooLarge"
    case .operationFailed, .testFailed, .listOfLists: return "Invalid"
    case .mergeFailed: return ""
    }
  }

  /// The `Status.message` kube-apiserver writes.
  ///
  /// For 422 answers this is the fixed generic sentence, exactly as upstream: the detail is not sent.
  public var message: String {
    switch self {
    case .operationFailed, .testFailed, .listOfLists:
      return "the server rejected our request due to an error in our request"
    case .tooManyOperations(let count):
      // `errors.NewRequestEntityTooLargeError` prefixes its message.
      return "Request entity too large: The allowed maximum operations in a JSON patch is \(PatchError.maximumJSONPatchOperations), got \(count)"
    case .malformedPatch, .malformedDirective, .mergeFailed:
      return detail
    }
  }

  /// What went wrong, worded as the upstream library words it.
  public var detail: String {
    switch self {
    case .malformedPatch(let detail), .malformedDirective(let detail), .mergeFailed(let detail):
      return detail
    case .tooManyOperations(let count):
      return "\(count) operations"
    case .operationFailed(_, let detail):
      return detail
    case .testFailed(_, let path):
      return "testing value \(path) failed: test failed"
    case .listOfLists:
      return "lists of lists are not supported"
    }
  }

  /// The status code, reason and detail on one line.
  public var description: String { "\(statusCode) \(reason): \(detail)" }

  /// The `Status` object kube-apiserver answers with, member for member and in its order.
  ///
  /// 422 answers come from `NewGenericServerResponse`, whose `details` is present but empty; 400 and
  /// 413 answers have no `details`; 500 answers (`ErrorToAPIStatus`) have no `reason` either.
  public var status: JSONValue {
    var object: JSONObject = ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure"]
    object["message"] = .string(message)
    if !reason.isEmpty { object["reason"] = .string(reason) }
    if statusCode == 422 { object["details"] = [:] }
    object["code"] = JSONValue(statusCode)
    return .object(object)
  }
}
