import ControllerRuntime
import DriftStatistics
import KubeCore
import Testing
@testable import EdgeML

/// Federated retraining in the planner: the Flower objects, their names, the run Job per trigger.
struct FederatedRetrainingTests {
  typealias P = DriftPolicyPlanner

  static let federated: JSONValue = [
    "cooldown": "1h", "maxConcurrent": 1,
    "federated": ["rounds": 4, "minClients": 2, "roundTimeout": "30s", "serverImage": "flower-server:1", "clientImage": "flower-client:1",
                  "nodeSelector": ["edgeml.io/jetson.module": "orin-nx-16gb"], "runConfig": ["slow-nodes": "a,b", "note": "say \"hi\""]],
    "promote": ["rollout": ["strategy": ["canary": ["steps": [["setWeight": 50]]]]]],
  ]

  func plan(_ policy: DriftPolicy, drifted: Bool, now: Int64, jobs: [JSONValue] = [], outputs: [String: P.JobOutput] = [:]) throws -> P.Plan {
    var rng = SeededRandom(seed: 3)
    let reference = try DriftFixtures.summaries(&rng, n: 300)
    let current = try DriftFixtures.summaries(&rng, n: 300, shift: drifted ? 1.5 : 0, labelBias: drifted ? 0.3 : 0)
    let step = P.step(policy, settings: try P.settings(policy.spec), hasBaseline: false, now: now)
    let gathered = P.Gathered(step: step, current: .success(current), pods: 2, reference: .success(reference))
    return P.plan(.init(policy: policy, model: try DriftFixtures.model(), jobs: jobs, gathered: gathered, jobOutputs: outputs,
                        now: Timestamp(secondsSinceEpoch: now)))
  }

  func object(_ plan: P.Plan, _ resource: String) -> JSONValue? { plan.objects.first { $0.resource.resource == resource }?.object }

  @Test("a federated policy owns a SuperLink Deployment and Service and a SuperNode DaemonSet on the selected nodes, before any drift")
  func flowerDeployment() throws {
    let policy = try DriftFixtures.policy(retraining: Self.federated)
    let quiet = try plan(policy, drifted: false, now: DriftFixtures.created.secondsSinceEpoch)
    #expect(DriftFixtures.jobs(quiet).isEmpty)
    let deployment = try #require(object(quiet, "deployments"))
    let service = try #require(object(quiet, "services"))
    let daemonSet = try #require(object(quiet, "daemonsets"))
    #expect(deployment[path: ["metadata", "name"]]?.stringValue == "detector-drift-superlink")
    #expect(service[path: ["metadata", "name"]]?.stringValue == "detector-drift-superlink")
    #expect(daemonSet[path: ["metadata", "name"]]?.stringValue == "detector-drift-supernode")
    for o in [deployment, service, daemonSet] {
      #expect(o[path: ["metadata", "ownerReferences"]]?.arrayValue?.first?["uid"]?.stringValue == "policy-uid")
      // Not the model's label: the EdgeModel controller and the drift scraper must not take these pods for serving pods.
      #expect(o[path: ["metadata", "labels", "edgeml.io/model"]] == nil)
    }
    let link = try #require(deployment[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.first)
    #expect(link["image"]?.stringValue == "flower-server:1")
    #expect(link["command"] == ["flower-superlink"])
    #expect(link["args"]?.arrayValue?.contains("--disable-runtime-dependency-installation") == true)
    #expect(service[path: ["spec", "selector"]] == deployment[path: ["spec", "template", "metadata", "labels"]])
    let node = try #require(daemonSet[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.first)
    #expect(node["image"]?.stringValue == "flower-client:1")
    let args = node["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
    #expect(args.firstIndex(of: "--superlink").map { args[$0 + 1] } == "detector-drift-superlink.default.svc:9093")
    #expect(daemonSet[path: ["spec", "template", "spec", "nodeSelector", "edgeml.io/jetson.module"]]?.stringValue == "orin-nx-16gb")
  }

  @Test("drift submits one run Job per trigger, named as any retraining Job, with rounds, minClients, the timeout and runConfig")
  func runPerTrigger() throws {
    var policy = try DriftFixtures.policy(retraining: Self.federated)
    let t0 = DriftFixtures.created.secondsSinceEpoch
    let first = try plan(policy, drifted: true, now: t0)
    let jobs = DriftFixtures.jobs(first)
    try #require(jobs.count == 1)
    #expect(jobs[0][path: ["metadata", "name"]]?.stringValue == "detector-drift-retrain-1")
    #expect(jobs[0][path: ["metadata", "labels", "edgeml.io/flower"]]?.stringValue == "run")
    #expect(jobs[0][path: ["spec", "backoffLimit"]]?.intValue == 0)
    let run = try #require(jobs[0][path: ["spec", "template", "spec", "containers"]]?.arrayValue?.first)
    #expect(run["image"]?.stringValue == "flower-server:1")
    let args = run["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
    #expect(args == ["--superlink", "detector-drift-superlink.default.svc:9093", "--app", "/app", "--run-config",
                     #"num-server-rounds=4 min-clients=2 round-timeout=30.0 strategy="fedavg" note='say "hi"' slow-nodes="a,b""#, "--termination-log", "/dev/termination-log"])
    // The lineage and the report, as for a jobTemplate Job.
    #expect(run["env"]?.arrayValue?.contains { $0["name"]?.stringValue == "EDGEML_DRIFT_POLICY" } == true)
    policy.status = first.status
    // Still drifting, the run not finished: maxConcurrent holds; the same Job is not submitted again after a restart.
    let again = try plan(policy, drifted: true, now: t0 + 600, jobs: jobs)
    #expect(DriftFixtures.jobs(again).isEmpty)
    // The run's model (the termination message) goes to a Rollout like any retrained model.
    var done = jobs[0]
    done["status"] = ["conditions": [["type": "Complete", "status": "True"]]]
    let message = #"{"uri": "file:///models/run-1/model.npz", "digest": "sha256:\#(String(repeating: "ab", count: 32))", "rounds": [{"round": 1, "clients": 2}]}"#
    let finished = try plan(policy, drifted: false, now: t0 + 1200, jobs: [done],
                            outputs: ["detector-drift-retrain-1": P.parseJobOutput(message)])
    let rollout = try #require(object(finished, "rollouts"))
    #expect(rollout[path: ["spec", "candidate", "model", "uri"]]?.stringValue == "file:///models/run-1/model.npz")
    #expect(finished.status.retrainJobs?.first?.phase == "Succeeded")
  }

  @Test("a runConfig key that is not a bare TOML key, a value flwr cannot read back, or a round timeout that does not parse: nothing submitted, the reason said")
  func badRunConfig() throws {
    for bad: JSONValue in [["runConfig": ["a b": "1"]], ["runConfig": ["x": "both \" and '"]], ["roundTimeout": "soon"]] {
      var f = Self.federated
      for (k, v) in bad.objectValue ?? [:] { f[path: ["federated", k]] = v }
      let result = try plan(try DriftFixtures.policy(retraining: f), drifted: true, now: DriftFixtures.created.secondsSinceEpoch)
      #expect(DriftFixtures.jobs(result).isEmpty)
      #expect(DriftFixtures.condition(result, "RetrainingTriggered")?.reason == "InvalidSpec")
      #expect(DriftFixtures.condition(result, "RetrainingTriggered")?.message?.contains("retraining.federated") == true)
    }
  }
}
