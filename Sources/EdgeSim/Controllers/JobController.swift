import Foundation
import KubeCore
import Logging

/// Runs Jobs to completion (pkg/controller/job/job_controller.go), NonIndexed mode.
///
/// Keeps `min(parallelism, completions − succeeded)` pods active. A failed pod counts against
/// `backoffLimit`; replacements wait the controller's back-off (10 s doubling, at most 6 min,
/// scaled). More failures than `backoffLimit` → `FailureTarget` and `Failed` (reason
/// `BackoffLimitExceeded`) and active pods are deleted; `completions` successes →
/// `SuccessCriteriaMet` and `Complete` with `completionTime`. `activeDeadlineSeconds` and pod
/// failure policies are not simulated.
struct JobController: Sendable {
  let api: ClusterAPI
  let runtime: Runtime
  let logger: Logger
  let events: EventRecorder


  func reconcile(_ key: ObjectKey) async -> Duration? {
    guard let job = api.get(Keys.jobs, namespace: key.namespace, name: key.name), !job.isDeleting else { return nil }
    let pods = api.owned(Keys.pods, by: job.uid, kind: "Job")
    let finished = ["Complete", "Failed"].contains { job.conditionStatus($0) == "True" }
    let active = pods.filter(\.isActivePod)
    let succeeded = pods.filter { $0.phase == "Succeeded" }.count
    let failedPods = pods.filter { $0.phase == "Failed" }
    let failed = failedPods.count
    let completions = job[path: ["spec", "completions"]]?.intValue
    let parallelism = job[path: ["spec", "parallelism"]]?.intValue ?? 1
    let backoffLimit = job[path: ["spec", "backoffLimit"]]?.intValue ?? 6
    let suspended = job[path: ["spec", "suspend"]]?.boolValue ?? false
    let now = rfc3339(Date())
    var status = job["status"] ?? [:]
    var conditions = status["conditions"]?.arrayValue ?? []
    var requeue: Duration?
    if !finished {
      if failed > backoffLimit {
        for p in active { _ = try? api.delete(Paths.pod(key.namespace, p.name)) }
        for type in ["FailureTarget", "Failed"] {
          setCondition(&conditions, type: type, status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit",
                       now: now, extra: ["lastProbeTime": .string(now)])
        }
        events.record(job, kind: "Job", apiVersion: "batch/v1", type: "Warning", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit")
      } else if completions.map({ succeeded >= $0 }) ?? (succeeded > 0 && active.isEmpty) {
        // With completions: that many successes; without (a work queue): one success and nothing left running.
        for type in ["SuccessCriteriaMet", "Complete"] {
          setCondition(&conditions, type: type, status: "True", reason: "CompletionsReached", message: "Reached expected number of succeeded pods",
                       now: now, extra: ["lastProbeTime": .string(now)])
        }
        status["completionTime"] = .string(now)
        events.record(job, kind: "Job", apiVersion: "batch/v1", reason: "Completed", message: "Job completed")
      } else if !suspended {
        let remaining = completions.map { $0 - succeeded } ?? (succeeded > 0 ? 0 : parallelism)
        let want = min(parallelism, remaining) - active.count
        // Pod failure back-off (job_controller.go getPodCreationInfoForIndependentIndexes / backoff): 10 s × 2^(n−1), ≤ 360 s.
        var wait = 0.0
        if failed > 0 {
          let last = failedPods.compactMap { p in
            (p[path: ["status", "containerStatuses"]]?.arrayValue ?? []).compactMap { parseRFC3339($0[path: ["state", "terminated", "finishedAt"]]?.stringValue) }.max()
          }.max() ?? Date()
          let delay = min(10 * pow(2, Double(failed - 1)), 360) * runtime.speed
          wait = delay - Date().timeIntervalSince(last)
        }
        if want > 0 && wait > 0 {
          requeue = .milliseconds(Int(wait * 1000) + 1)
        } else if want > 0 {
          let owner = job.controllerReference(apiVersion: "batch/v1", kind: "Job")
          for _ in 0..<want {
            do {
              try api.create(Paths.pods(key.namespace), PodTemplate.pod(from: job[path: ["spec", "template"]] ?? [:], generateName: "\(job.name)-", owner: owner))
            } catch {
              logger.warning("Job pod creation failed", metadata: ["kube.name": "\(key.name)", "error": "\(error)"])
              requeue = runtime.scaled(5)
              break
            }
          }
        }
      }
    }
    let activeNow = api.owned(Keys.pods, by: job.uid, kind: "Job").filter(\.isActivePod)
    if status["startTime"] == nil && !suspended { status["startTime"] = .string(now) }
    status["active"] = omitZero(activeNow.count)
    status["ready"] = JSONValue(activeNow.filter(\.isPodReady).count)
    status["succeeded"] = omitZero(succeeded)
    status["failed"] = omitZero(failed)
    status["terminating"] = JSONValue(0)
    status["uncountedTerminatedPods"] = [:]
    if !conditions.isEmpty { status["conditions"] = .array(conditions) }
    if status != job["status"] { _ = try? api.mergePatch(Paths.job(key.namespace, key.name) + "/status", ["status": status]) }
    return requeue
  }
}
