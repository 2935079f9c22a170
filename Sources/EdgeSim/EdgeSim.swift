// EdgeSim: see docs/edgemodel-contracts.md
