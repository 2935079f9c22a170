import CKubeClientShims
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Copies `edgeml-engine` into a volume so that an init container of *another* image — NVIDIA's
/// L4T image with the node's TensorRT and `trtexec` — can run it (docs/engine-builds.md "Builder
/// images per L4T release").
///
/// The pattern is Tekton's and Argo Workflows': a first init container of our image copies the
/// program into an `emptyDir` the next container mounts. Our binary is built on Debian 12 (glibc
/// 2.36) and loads libcurl and its libraries; the L4T images are Ubuntu 20.04 (r35, glibc 2.31) and
/// 22.04 (r36, glibc 2.35), without libcurl. So the copy takes its own world along: the dynamic
/// loader (as `ld.so`), every shared library this process has loaded once libcurl is loaded too
/// (under the names it loaded them by, so sonames resolve), and the CA bundle. The next container
/// runs `DIR/ld.so --library-path DIR/lib DIR/edgeml-engine …`: the loader's `--library-path`
/// applies to this process and its `dlopen`s only, so `trtexec`, started as a child, sees the
/// image's own libraries untouched (ld.so(8), "--library-path").
public enum ToolsInstaller {
  public struct Installed: Sendable {
    public var executable: String
    public var loader: String
    public var libraries: [String]
    public var caBundle: String?
  }

  /// The CA bundle our image carries (Debian's `ca-certificates`).
  public static let systemCABundle = "/etc/ssl/certs/ca-certificates.crt"

  /// Copies this program, its loader and libraries, and the CA bundle into `directory`.
  /// - Throws: `EngineBuildError(.invalidArguments, …)` naming what could not be read or written.
  public static func install(to directory: String, caBundle: String = systemCABundle) throws(EngineBuildError) -> Installed {
    // libcurl is loaded on first use (CCurl's dlopen); load it now so its libraries are mapped.
    _ = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL)
    let loaded = loadedObjects()
    guard let loader = loaded.first(where: { ($0 as NSString).lastPathComponent.hasPrefix("ld-linux") }) else {
      throw EngineBuildError(.invalidArguments, "cannot find the dynamic loader among the loaded objects: \(loaded)")
    }
    let lib = directory + "/lib"
    do { try FileManager.default.createDirectory(atPath: lib, withIntermediateDirectories: true) } catch {
      throw EngineBuildError(.invalidArguments, "cannot create \(lib): \(error.localizedDescription)")
    }
    var libraries: [String] = []
    for path in loaded where path != loader {
      let name = (path as NSString).lastPathComponent
      try place(path, at: "\(lib)/\(name)", mode: 0o644)
      libraries.append(name)
    }
    try place(loader, at: directory + "/ld.so", mode: 0o755)
    try place("/proc/self/exe", at: directory + "/edgeml-engine", mode: 0o755)
    var bundle: String? = nil
    if FileManager.default.fileExists(atPath: caBundle) {
      try place(caBundle, at: directory + "/ca-certificates.crt", mode: 0o644)
      bundle = directory + "/ca-certificates.crt"
    }
    return Installed(executable: directory + "/edgeml-engine", loader: directory + "/ld.so", libraries: libraries.sorted(), caBundle: bundle)
  }

  /// Paths of the shared objects mapped in this process, as the loader opened them (a soname's
  /// path, not the file a symlink points to), from `dl_iterate_phdr(3)`; the program and the vDSO
  /// (which have no path) left out.
  static func loadedObjects() -> [String] {
    let names = LoadedNames()
    withExtendedLifetime(names) {
      ckubeclient_loaded_objects({ raw, context in
        guard let raw, let context else { return }
        let name = String(cString: raw)
        if name.hasPrefix("/") { Unmanaged<LoadedNames>.fromOpaque(context).takeUnretainedValue().paths.append(name) }
      }, Unmanaged.passUnretained(names).toOpaque())
    }
    var seen = Set<String>()
    return names.paths.filter { seen.insert($0).inserted }
  }

  /// Copies through a temporary name and renames, so a restarted init container never leaves half a file.
  private static func place(_ source: String, at destination: String, mode: Int) throws(EngineBuildError) {
    let temporary = destination + ".tmp"
    do {
      try? FileManager.default.removeItem(atPath: temporary)
      // Streamed (FileWrite.copy), not read whole: a debug build's libraries are over 100 MB.
      _ = try FileWrite.copy(from: source, to: temporary, durable: false)
      guard chmod(temporary, mode_t(mode)) == 0 else {
        throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: temporary])
      }
      guard rename(temporary, destination) == 0 else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination])
      }
    } catch {
      try? FileManager.default.removeItem(atPath: temporary)
      throw EngineBuildError(.invalidArguments, "cannot copy \(source) to \(destination): \(error.localizedDescription)")
    }
  }
}

/// What `dl_iterate_phdr`'s callback collects (it runs synchronously, on this thread).
private final class LoadedNames { var paths: [String] = [] }
