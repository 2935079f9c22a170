import Foundation
import KubeCore

/// A pod's place on this machine: its volumes as directories and the path rewriting that stands in
/// for bind mounts (docs/edgemodel-contracts.md §4).
///
/// Layout under the sim root: `nodes/<node>/<hostPath>` for hostPath volumes,
/// `pods/<uid>/volumes/<name>` for emptyDir, secret and configMap volumes (the latter two hold one
/// file per key), `volumes/pvc/<namespace>/<claim>` for a PersistentVolumeClaim (shared by every
/// node, as ReadWriteMany storage is), `pods/<uid>/containers/<name>/` for a container's
/// termination log and logs.
struct PodSandbox: Sendable {
  let root: URL
  let pod: JSONValue
  let node: String

  var podDirectory: URL { root.appendingPathComponent("pods/\(pod.uid)") }

  func containerDirectory(_ container: String) -> URL { podDirectory.appendingPathComponent("containers/\(container)") }

  /// The directory that holds volume `name` on this machine, or nil for a kind the simulator does not back.
  func volumeDirectory(_ volume: JSONValue) -> URL? {
    let name = volume["name"]?.stringValue ?? ""
    if let path = volume[path: ["hostPath", "path"]]?.stringValue {
      return root.appendingPathComponent("nodes/\(node)").appendingPathComponent(String(path.drop { $0 == "/" }))
    }
    // A claim's volume is one directory whatever node mounts it: the simulated storage is
    // ReadWriteMany, like the NFS or Longhorn RWX volumes edge clusters share engines on.
    if let claim = volume[path: ["persistentVolumeClaim", "claimName"]]?.stringValue {
      return root.appendingPathComponent("volumes/pvc/\(pod[path: ["metadata", "namespace"]]?.stringValue ?? "default")/\(claim)")
    }
    for kind in ["emptyDir", "secret", "configMap", "projected", "downwardAPI"] where volume[kind] != nil {
      return podDirectory.appendingPathComponent("volumes/\(name)")
    }
    return nil
  }

  /// Creates every volume directory and writes secret and configMap keys as files.
  /// - Throws: `SandboxError.missing` when a referenced, non-optional Secret, ConfigMap or key is absent
  ///   (the kubelet's `FailedMount`).
  func prepare(api: ClusterAPI) throws(SandboxError) {
    let fm = FileManager.default
    for volume in pod[path: ["spec", "volumes"]]?.arrayValue ?? [] {
      guard let dir = volumeDirectory(volume) else { continue }
      if let type = volume[path: ["hostPath", "type"]]?.stringValue, !type.isEmpty, type != "DirectoryOrCreate" {
        try checkHostPath(dir, type: type, path: volume[path: ["hostPath", "path"]]?.stringValue ?? "")
        continue
      }
      try? fm.createDirectory(at: dir, withIntermediateDirectories: true)
      // A volume names its Secret by `secretName`; a projection by `name`.
      try writeKeyed(volume, nameFields: ("secretName", "name"), into: dir, api: api)
      for projection in volume[path: ["projected", "sources"]]?.arrayValue ?? [] {
        try project(projection, into: dir, api: api)
      }
    }
  }

  /// The kubelet's hostPath type check (pkg/volume/hostpath/host_path.go `checkTypeInternal`):
  /// `Directory` and `File` must exist as such on the node, `FileOrCreate` makes an empty file.
  /// `DirectoryOrCreate` and no type create the directory (the caller does); other types
  /// (`Socket`, `CharDevice`, `BlockDevice`) need only exist here.
  private func checkHostPath(_ dir: URL, type: String, path: String) throws(SandboxError) {
    let fm = FileManager.default
    var isDirectory: ObjCBool = false
    let exists = fm.fileExists(atPath: dir.path, isDirectory: &isDirectory)
    switch type {
    case "Directory":
      guard exists, isDirectory.boolValue else { throw .missing("hostPath type check failed: \(path) is not a directory") }
    case "FileOrCreate" where !exists:
      try? fm.createDirectory(at: dir.deletingLastPathComponent(), withIntermediateDirectories: true)
      guard fm.createFile(atPath: dir.path, contents: nil) else { throw .missing("hostPath type check failed: \(path) is not a file") }
    case "File", "FileOrCreate":
      guard exists, !isDirectory.boolValue else { throw .missing("hostPath type check failed: \(path) is not a file") }
    default:
      guard exists else { throw .missing("hostPath \(path) doesn't exist") }
    }
  }

  /// Writes one source of a projected volume (pkg/volume/projected/projected.go `collectData`):
  /// Secret and ConfigMap keys, downward-API fields, and a service-account token the kubelet asks
  /// the API server for, bound to this pod (pkg/kubelet/token/token_manager.go). The token is asked
  /// for again once 80 % of its lifetime has passed, as the token manager's `requiresRefresh` does.
  private func project(_ projection: JSONValue, into dir: URL, api: ClusterAPI) throws(SandboxError) {
    try writeKeyed(projection, nameFields: ("name", "name"), into: dir, api: api)
    if let items = projection[path: ["downwardAPI", "items"]]?.arrayValue {
      var files: [String: Data] = [:]
      for item in items {
        guard let path = item["path"]?.stringValue, let field = item[path: ["fieldRef", "fieldPath"]]?.stringValue else { continue }
        files[path] = Data(ContainerEnvironment.fieldValue(field, pod: pod, hostIP: "", podIP: "").utf8)
      }
      try write(files, items: nil, into: dir, source: "downwardAPI")
    }
    if let token = projection["serviceAccountToken"] {
      let path = token["path"]?.stringValue ?? "token"
      let file = dir.appendingPathComponent(path)
      let seconds = token["expirationSeconds"]?.intValue ?? 3600
      let attributes = try? FileManager.default.attributesOfItem(atPath: file.path)
      let written = attributes?[.modificationDate] as? Date
      if let written, Date().timeIntervalSince(written) < 0.8 * Double(seconds) { return }
      let account = pod[path: ["spec", "serviceAccountName"]]?.stringValue ?? "default"
      var spec: JSONObject = ["expirationSeconds": JSONValue(seconds),
                              "boundObjectRef": ["apiVersion": "v1", "kind": "Pod", "name": .string(pod.name), "uid": .string(pod.uid)]]
      if let audience = token["audience"]?.stringValue, !audience.isEmpty { spec["audiences"] = [.string(audience)] }
      let response: JSONValue
      do {
        response = try api.create("/api/v1/namespaces/\(pod.namespace)/serviceaccounts/\(account)/token",
                                  ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": .object(spec)])
      } catch {
        throw .missing("failed to fetch token: \(error)")
      }
      try write([path: Data((response[path: ["status", "token"]]?.stringValue ?? "").utf8)], items: nil, into: dir, source: "serviceAccountToken")
    }
  }

  /// Writes the keys of the Secret and ConfigMap that `source` (a volume or a projection) names.
  private func writeKeyed(_ source: JSONValue, nameFields: (secret: String, configMap: String), into dir: URL,
                          api: ClusterAPI) throws(SandboxError) {
    for (kind, field, nameField) in [(KeyedSource.secret, "secret", nameFields.secret), (.configMap, "configMap", nameFields.configMap)] {
      guard let ref = source[field] else { continue }
      let name = ref[nameField]?.stringValue ?? ""
      guard let files = kind.load(api, namespace: pod.namespace, name: name) else {
        if ref["optional"]?.boolValue == true { continue }
        throw .missing("\(kind.lowerName) \"\(name)\" not found")
      }
      try write(files, items: ref["items"]?.arrayValue, into: dir, source: "\(kind.lowerName) \"\(name)\"")
    }
  }

  private func write(_ files: [String: Data], items: [JSONValue]?, into dir: URL, source: String) throws(SandboxError) {
    var targets: [(String, Data)] = []
    if let items {
      for item in items {
        let key = item["key"]?.stringValue ?? ""
        guard let data = files[key] else { throw .missing("\(source): key \"\(key)\" not found") }
        targets.append((item["path"]?.stringValue ?? key, data))
      }
    } else {
      targets = files.map { ($0.key, $0.value) }
    }
    for (path, data) in targets {
      let url = dir.appendingPathComponent(path)
      try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      do { try data.write(to: url, options: .atomic) } catch { throw .missing("\(source): cannot write \(path): \(error)") }
    }
  }

  /// The mount table of one container: mountPath → host directory, longest mount path first.
  func mounts(of container: JSONValue) -> [(mountPath: String, host: String)] {
    let volumes = pod[path: ["spec", "volumes"]]?.arrayValue ?? []
    var out: [(mountPath: String, host: String)] = []
    for m in container["volumeMounts"]?.arrayValue ?? [] {
      guard let mountPath = m["mountPath"]?.stringValue, let name = m["name"]?.stringValue,
            let volume = volumes.first(where: { $0["name"]?.stringValue == name }),
            var dir = volumeDirectory(volume) else { continue }
      if let sub = m["subPath"]?.stringValue, !sub.isEmpty { dir = dir.appendingPathComponent(sub) }
      let trimmed = mountPath.count > 1 && mountPath.hasSuffix("/") ? String(mountPath.dropLast()) : mountPath
      out.append((trimmed, dir.path))
    }
    return out.sorted { $0.mountPath.count > $1.mountPath.count }
  }

  /// The container's stand-in root file system: `containers/<name>/rootfs/`, where every mount
  /// is a symbolic link to the host directory or file behind it. Returns, for each directory that
  /// holds mounts without being one (`/host` above `/host/proc/device-tree`), its place in that
  /// root, so a program given `--root /host` finds the mounts under it.
  ///
  /// *Caveat:* a mount inside another mount gets no link (it would be written into the outer
  /// volume); paths naming it directly are still rewritten.
  func standInRoot(of container: JSONValue, mounts: [(mountPath: String, host: String)]) -> [String: String] {
    let rootfs = containerDirectory(container["name"]?.stringValue ?? "").appendingPathComponent("rootfs")
    let paths = Set(mounts.map(\.mountPath))
    var parents: [String: String] = [:]
    let fm = FileManager.default
    for mount in mounts where mount.mountPath.hasPrefix("/") && mount.mountPath != "/" {
      var components = mount.mountPath.split(separator: "/").map(String.init)
      components.removeLast()
      var prefixes: [String] = []
      for c in components { prefixes.append((prefixes.last ?? "") + "/" + c) }
      if prefixes.contains(where: { paths.contains($0) }) { continue }   // inside another mount
      for p in prefixes { parents[p] = rootfs.path + p }
      let link = rootfs.path + mount.mountPath
      try? fm.createDirectory(atPath: rootfs.path + (prefixes.last ?? ""), withIntermediateDirectories: true)
      if (try? fm.destinationOfSymbolicLink(atPath: link)) != mount.host {
        try? fm.removeItem(atPath: link)
        try? fm.createSymbolicLink(atPath: link, withDestinationPath: mount.host)
      }
    }
    return parents
  }

  /// A word that is exactly a directory above mounts (`/host`, or `--root=/host`) → its place in
  /// the stand-in root. Only whole words: `/dev/null` stays itself though `/dev` holds the
  /// termination log.
  static func rewriteParent(_ word: String, parents: [String: String]) -> String {
    if let mapped = parents[word] { return mapped }
    if let eq = word.firstIndex(of: "="), let mapped = parents[String(word[word.index(after: eq)...])] {
      return String(word[...eq]) + mapped
    }
    return word
  }

  /// Rewrites the mount paths in a value to the host directories behind them.
  ///
  /// A value that begins with a mount path is rewritten (the contract's rule); so is a mount path
  /// that starts a path token later in the value — after `=`, `:`, a space, a quote or a shell
  /// operator — so `--model-repository=/models` and `sh -c "cp x /models/a > /dev/termination-log"`
  /// stay inside the sim root too. A token matches a mount path when it equals it or continues with
  /// `/`, so `/models2` is not inside `/models`; the longest mount path wins.
  static func rewrite(_ value: String, mounts: [(mountPath: String, host: String)]) -> String {
    guard value.contains("/") else { return value }
    let chars = Array(value.unicodeScalars)
    var out = String.UnicodeScalarView()
    var i = 0
    let separators = Set(" \t\n=:'\"`;|&<>(),".unicodeScalars)
    while i < chars.count {
      if chars[i] == "/" && (i == 0 || separators.contains(chars[i - 1])) {
        var matched = false
        for m in mounts {
          let path = Array(m.mountPath.unicodeScalars)
          let root = m.mountPath == "/"
          guard i + path.count <= chars.count, Array(chars[i..<(i + path.count)]) == path else { continue }
          let next = i + path.count
          if root || next == chars.count || chars[next] == "/" || separators.contains(chars[next]) {
            out.append(contentsOf: (root ? m.host + "/" : m.host).unicodeScalars)
            i = next
            matched = true
            break
          }
        }
        if matched { continue }
      }
      out.append(chars[i])
      i += 1
    }
    return String(out)
  }

  /// Where a container's `terminationMessagePath` is on this machine: under a mount if it is in one,
  /// else `pods/<uid>/containers/<name>/termination-log`.
  func terminationMessageFile(_ container: JSONValue) -> URL {
    let path = container["terminationMessagePath"]?.stringValue ?? "/dev/termination-log"
    let mounts = mounts(of: container)
    let rewritten = PodSandbox.rewrite(path, mounts: mounts)
    if rewritten != path { return URL(fileURLWithPath: rewritten) }
    return containerDirectory(container["name"]?.stringValue ?? "").appendingPathComponent("termination-log")
  }
}

enum SandboxError: Error, Sendable, CustomStringConvertible {
  case missing(String)
  var description: String { if case .missing(let m) = self { return m }; return "" }
}
