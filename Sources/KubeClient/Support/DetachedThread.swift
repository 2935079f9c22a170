internal import CKubeClientShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A named OS thread that nobody joins, what `Thread { … }.start()` made (`FoundationEssentials` has
/// no `Thread`): the curl loop runs on one for the client's lifetime and ends by returning.
enum DetachedThread {
  /// Starts `body` on a new thread named `name` (Linux keeps the first 15 bytes; `ps -L` and `top -H` show them).
  /// - Throws: `TransportError.setupFailed` when the system refuses another thread (EAGAIN).
  static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(TransportError) {
    final class Box {
      let name: String, body: @Sendable () -> Void
      init(name: String, body: @escaping @Sendable () -> Void) { self.name = name; self.body = body }
    }
    let box = Unmanaged.passRetained(Box(name: name, body: body))
    #if canImport(Darwin)
    var thread: pthread_t? = nil
    #else
    var thread = pthread_t()
    #endif
    let rc = pthread_create(&thread, nil, { raw in
      // pthread_create has no other way to hand over the closure: the Box, retained above, is
      // released here, on the new thread, exactly once.
      let argument: UnsafeMutableRawPointer? = raw   // optional on Glibc, not on Darwin
      guard let argument else { return nil }
      let box = Unmanaged<Box>.fromOpaque(argument).takeRetainedValue()
      #if os(Linux)
      ckubeclient_set_thread_name(box.name)
      #else
      pthread_setname_np(box.name)
      #endif
      box.body()
      return nil
    }, box.toOpaque())
    guard rc == 0 else {
      box.release()
      throw .setupFailed("cannot start the \(name) thread: \(String(cString: strerror(rc)))")
    }
    #if canImport(Darwin)
    pthread_detach(thread!)
    #else
    pthread_detach(thread)
    #endif
  }
}
