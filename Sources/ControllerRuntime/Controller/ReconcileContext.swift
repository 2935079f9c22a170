import KubeClient
import KubeCore
import Logging

/// What one reconcile gets besides its request: the logger (carrying the object's key and the
/// controller's name), the clock, the event recorder, the client, the caches and the applier.
///
/// Reads go to `caches` (the informers' stores: "a cache and may be stale"); writes go through
/// `applier` or `client`, checked by the server's optimistic concurrency.
public struct ReconcileContext: Sendable {
  public var request: ReconcileRequest
  public var controller: String
  public var logger: Logger
  public var clock: any ControllerClock
  public var recorder: EventRecorder?
  public var client: KubeClient
  public var caches: Caches
  public var applier: PlanApplier

  public init(request: ReconcileRequest, controller: String, logger: Logger, clock: any ControllerClock,
              recorder: EventRecorder?, client: KubeClient, caches: Caches, applier: PlanApplier) {
    self.request = request
    self.controller = controller
    self.logger = logger
    self.clock = clock
    self.recorder = recorder
    self.client = client
    self.caches = caches
    self.applier = applier
  }
}
