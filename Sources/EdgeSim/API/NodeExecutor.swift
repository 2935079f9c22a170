import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The threads the simulated nodes' work runs on: the kubelets' pod workers (probes, container
/// starts and waits, status writes) and, through them, the container processes they start, at a
/// lower CPU priority (a higher nice value) than the rest of the process.
///
/// On a real cluster the nodes are other machines: a hundred Jetsons starting pods at once do not
/// take CPU from the API server, the controller manager or an operator beside them. In EdgeSim
/// they all share this machine's cores, so without this a benchmark of a controller measures the
/// simulated nodes' work queueing in front of the API server's answers. With it, when the cores
/// are busy, the nodes' work gets a smaller share of them than the API server's event loops and
/// the simulated control plane (the kernel weighs nice 10 at 110 against 1024 for nice 0); under
/// no contention nothing changes. `nice` is per thread on Linux (sched(7), "The nice value"), and a process started by a
/// thread inherits that thread's value (fork(2) copies the calling thread's scheduling
/// attributes), so engine builds run niced too.
///
/// A `TaskExecutor` (SE-0417): tasks started with it as their preference, and their child tasks,
/// run their jobs on its threads; default actors they call run there too.
final class NodeExecutor: TaskExecutor, @unchecked Sendable {
  /// The nice value the threads run at (0-19; the process's own is 0 when started normally).
  let nice: Int32
  private let condition = NSCondition()
  private var jobs: [UnownedJob] = []   // guarded by `condition`
  private var head = 0

  /// One executor per nice value for the whole process, its threads started on first use and
  /// kept (simulators started one after another, as tests do, share them).
  static func shared(nice: Int32) -> NodeExecutor {
    sharedExecutors.withLock { all in
      if let existing = all[nice] { return existing }
      let made = NodeExecutor(threads: ProcessInfo.processInfo.activeProcessorCount, nice: nice)
      all[nice] = made
      return made
    }
  }
  private static let sharedExecutors = Mutex<[Int32: NodeExecutor]>([:])

  /// Starts `threads` threads at `nice`; they live as long as the process.
  private init(threads: Int, nice: Int32) {
    self.nice = nice
    for index in 0..<max(1, threads) {
      Thread { self.work(name: "edgesim-node-\(index)") }.start()
    }
  }

  func enqueue(_ job: consuming ExecutorJob) {
    let unowned = UnownedJob(job)
    condition.lock()
    jobs.append(unowned)
    condition.signal()
    condition.unlock()
  }

  private func work(name: String) {
    #if os(Linux)
    // The thread's name in /proc, top and perf (a new thread otherwise keeps its creator's):
    // proc(5), /proc/thread-self/comm, at most 15 bytes.
    try? Data(name.utf8.prefix(15)).write(to: URL(fileURLWithPath: "/proc/thread-self/comm"))
    // Raising one's own nice value needs no privilege; if it fails, the work still runs. On Linux
    // `who` 0 is the calling thread, not the whole process (setpriority(2), "BUGS").
    _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice)
    #endif
    while true {
      condition.lock()
      while head == jobs.count { condition.wait() }
      let job = jobs[head]
      head += 1
      if head == jobs.count { jobs.removeAll(keepingCapacity: true); head = 0 }
      condition.unlock()
      job.runSynchronously(on: asUnownedTaskExecutor())
    }
  }
}
