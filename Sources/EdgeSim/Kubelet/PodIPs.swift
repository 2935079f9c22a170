import Foundation
import Synchronization

/// Pod IPs on loopback, shared by every simulator in the process.
///
/// They count up from 127.N.0.1, N chosen by process id so that two processes on one machine rarely
/// hand out the same addresses, and one counter per process so that two simulators in it (tests
/// running in parallel) never do: their pods' servers would clash, and a test scraping its pod's IP
/// would read another simulator's pod.
enum PodIPs {
  private static let next = Mutex<UInt32>((127 << 24) | (UInt32(1 + ProcessInfo.processInfo.processIdentifier % 200) << 16))

  /// The next free address; skips .0 and .255 in the last octet.
  static func allocate() -> UInt32 {
    next.withLock { ip in
      ip += 1
      if ip & 0xff == 0 || ip & 0xff == 255 { ip += 2 }
      return ip
    }
  }
}
