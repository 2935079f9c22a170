internal import CCurl
import Synchronization

/// One libcurl multi handle driven by one thread: every request and every watch stream of a
/// client goes through it, so connections (and HTTP/2 streams) are shared.
///
/// Other threads only hand transfers over (`submit`, `cancel`) and wake the loop with
/// `curl_multi_wakeup`; the easy handles are touched only on the loop thread.
public final class CurlMultiLoop: Sendable {
  private struct Shared {
    var toAdd: [CurlTransfer] = []
    /// Held strongly until the loop handles them, so an identifier is never reused meanwhile.
    var toCancel: [CurlTransfer] = []
    var isStopped = false
    /// The loop has cleaned the multi handle up: nothing may wake it any more.
    var isClosed = false
  }
  // Safety: `multi` is used by the loop thread, and by `curl_multi_wakeup`, which libcurl documents
  // as callable from any thread — while the handle lives: other threads wake it only while holding
  // `shared` and seeing `isClosed` false, and the loop sets `isClosed` under the same lock before
  // `curl_multi_cleanup`, so a cancel or shutdown that comes late (a watch's iterator released after
  // its client shut down) never writes into a freed handle.
  private nonisolated(unsafe) let multi: UnsafeMutableRawPointer
  private let shared = Mutex(Shared())
  private let finished = Mutex(false)

  public init() throws(TransportError) {
    try CurlMultiLoop.loadLibcurl()
    guard let m = ccurl_multi_init() else { throw TransportError.setupFailed("curl_multi_init returned NULL") }
    multi = m
    // HTTP/2 multiplexing over one connection per host (libcurl's default; stated for clarity).
    _ = ccurl_multi_setopt_long(m, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
    try DetachedThread.start(name: "edgeml-curl") { [self] in self.run() }
  }

  /// Loads libcurl and runs `curl_global_init`, once per process (CCurl's `ccurl_load`).
  /// - Throws: `TransportError.setupFailed` with the loader's reason when libcurl.so.4 is missing.
  static func loadLibcurl() throws(TransportError) {
    var error = [CChar](repeating: 0, count: 512)
    guard ccurl_load(&error, error.count) != 0 else { return }
    throw TransportError.setupFailed(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
  }

  /// Starts a transfer; its callbacks run on the loop thread.
  func submit(_ transfer: CurlTransfer) {
    let stopped = shared.withLock { s -> Bool in
      if s.isStopped || s.isClosed { return true }
      s.toAdd.append(transfer)
      ccurl_multi_wakeup(multi)
      return false
    }
    if stopped { transfer.cancel() }
  }

  /// Stops a transfer early (a watch the caller no longer reads), even one not submitted yet (a task
  /// cancelled before its request was handed over: Swift runs the cancellation handler first).
  func cancel(_ transfer: CurlTransfer) {
    transfer.cancelRequested.store(true, ordering: .releasing)
    shared.withLock { s in
      guard !s.isClosed else { return }
      s.toCancel.append(transfer)
      ccurl_multi_wakeup(multi)
    }
  }

  /// Stops the loop; pending transfers fail with `.cancelled`.
  public func shutdown() {
    shared.withLock { s in
      guard !s.isClosed else { return }
      s.isStopped = true
      ccurl_multi_wakeup(multi)
    }
  }

  private func run() {
    var active: [ObjectIdentifier: CurlTransfer] = [:]
    while true {
      let (add, cancel, stopped) = shared.withLock { s -> ([CurlTransfer], [CurlTransfer], Bool) in
        defer { s.toAdd = []; s.toCancel = [] }
        return (s.toAdd, s.toCancel, s.isStopped)
      }
      for t in add {
        // Cancelled before it came: the cancel found nothing active, and would otherwise be lost,
        // leaving the request to run until its timeout.
        if t.cancelRequested.load(ordering: .acquiring) {
          t.cancel()
          continue
        }
        active[ObjectIdentifier(t)] = t
        ccurl_multi_add_handle(multi, t.handle)
      }
      for c in cancel {
        if let t = active.removeValue(forKey: ObjectIdentifier(c)) {
          ccurl_multi_remove_handle(multi, t.handle)
          t.cancel()
        }
      }
      if stopped {
        for t in active.values {
          ccurl_multi_remove_handle(multi, t.handle)
          t.cancel()
        }
        shared.withLock { s in
          s.isClosed = true
          // Cancelled after the last look: their callers are still waiting.
          for t in s.toAdd { t.cancel() }
          s.toAdd = []
          s.toCancel = []
        }
        ccurl_multi_cleanup(multi)
        finished.withLock { $0 = true }
        return
      }
      var running: Int32 = 0
      ccurl_multi_perform(multi, &running)
      var queued: Int32 = 0
      while let message = ccurl_multi_info_read(multi, &queued) {
        guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
        let code = message.pointee.data.result
        var privatePointer: UnsafeMutableRawPointer? = nil
        _ = ccurl_easy_getinfo_ptr(easy, CURLINFO_PRIVATE, &privatePointer)
        ccurl_multi_remove_handle(multi, easy)
        if let privatePointer {
          let transfer = Unmanaged<CurlTransfer>.fromOpaque(privatePointer).takeUnretainedValue()
          active.removeValue(forKey: ObjectIdentifier(transfer))
          transfer.finish(code: code)
        }
      }
      var numfds: Int32 = 0
      ccurl_multi_poll(multi, nil, 0, 1000, &numfds)
    }
  }
}
