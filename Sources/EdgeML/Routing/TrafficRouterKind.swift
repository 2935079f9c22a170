/// The routers, as `spec.trafficRouting` names them.
public enum TrafficRouterKind: String, Sendable, Equatable {
  case replicaRatio, gatewayAPI, traefik, nginx
}
