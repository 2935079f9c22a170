import ControllerRuntime
import KubeCore

/// Rollouts and EdgeModels as the controllers read them from the caches, decoded once per version
/// for all of them (`DecodedCache`): the EdgeModel controller reads its model's Rollouts, the
/// Rollout controller its EdgeModel and sibling Rollouts, the DriftPolicy controller its EdgeModel.
enum Decoded {
  static let rollouts = DecodedCache<Rollout>()
  static let models = DecodedCache<EdgeModel>()

  static func rollout(_ json: JSONValue) throws(ResourceDecodingError) -> Rollout {
    try rollouts.object(json) { (j) throws(ResourceDecodingError) in try Rollout(json: j) }
  }

  static func model(_ json: JSONValue) throws(ResourceDecodingError) -> EdgeModel {
    try models.object(json) { (j) throws(ResourceDecodingError) in try EdgeModel(json: j) }
  }
}
