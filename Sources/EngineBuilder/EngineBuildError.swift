import EdgeMLVocabulary
/// Why an engine is not in place, as the contract's `reason` says it (docs/edgemodel-contracts.md §2).
///
/// `message` is for a person reading `kubectl describe`; it never contains a key, a token or the
/// query string of a presigned URL.
public struct EngineBuildError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The contract's closed set of reasons (the shared vocabulary's).
  public typealias Reason = EngineFailureReason

  public var reason: Reason
  public var message: String

  public init(_ reason: Reason, _ message: String) {
    self.reason = reason
    self.message = message
  }

  public var description: String { "\(reason.rawValue): \(message)" }

  /// Exit status: 2 for bad arguments, 1 for every other failure.
  public var exitCode: Int32 { reason == .invalidArguments ? 2 : 1 }
}
