// NodeAgent: see docs/edgemodel-contracts.md
