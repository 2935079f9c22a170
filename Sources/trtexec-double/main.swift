import Foundation

// trtexec-double: stands in for /usr/src/tensorrt/bin/trtexec (docs/edgemodel-contracts.md §3).
switch DeviceModel.from(environment: ProcessInfo.processInfo.environment) {
case .failure(let error):
  Console.write("trtexec-double: \(error.variable)=\(error.value) is not a valid value\n", to: FileHandle.standardError)
  exit(2)
case .success(let device):
  var trtexec = Trtexec(device: device, arguments: CommandLine.arguments)
  exit(trtexec.run())
}
