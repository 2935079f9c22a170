/// Which requests an A/B test sends to the candidate regardless of the weight.
public enum RouteMatch: Sendable, Equatable {
  /// Requests whose header `name` equals `value` exactly.
  case header(name: String, value: String)
  /// Requests carrying the cookie `name` with the value `always` (ingress-nginx's convention,
  /// docs/user-guide/nginx-configuration/annotations.md "Canary"; the Gateway API router matches the same).
  case cookie(name: String)
}
