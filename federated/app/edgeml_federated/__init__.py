"""edgeml-operator's example Flower App for federated retraining (docs/federated.md)."""
