"""The ClientApp: trains the linear model on this device's own data; the data never leaves it.

Each SuperNode makes its local data from its node name (a stand-in for the samples a Jetson keeps),
so every node holds a different sample of the same relation y = X·w_true + b_true + noise.
"""

import hashlib
import time

import numpy as np
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

app = ClientApp()

TRUE_WEIGHTS = np.array([2.0, -1.0, 0.5])
TRUE_BIAS = 0.25


def local_data(node_name: str) -> tuple[np.ndarray, np.ndarray]:
    """This node's samples: 64..191 rows, seeded by the node name."""
    seed = int.from_bytes(hashlib.sha256(node_name.encode()).digest()[:4], "little")
    rng = np.random.default_rng(seed)
    n = 64 + seed % 128
    x = rng.normal(size=(n, TRUE_WEIGHTS.size))
    y = x @ TRUE_WEIGHTS + TRUE_BIAS + rng.normal(scale=0.1, size=n)
    return x, y


@app.train()
def train(msg: Message, context: Context) -> Message:
    node = str(context.node_config.get("node-name", "node"))
    config = context.run_config
    # Fault injection for tests: a node named in slow-nodes answers only after slow-seconds.
    slow = [s for s in str(config.get("slow-nodes", "")).split(",") if s]
    if node in slow:
        time.sleep(float(config.get("slow-seconds", 0.0)))
    arrays = msg.content["arrays"].to_numpy_ndarrays()
    w, b = arrays[0].copy(), float(arrays[1][0])
    x, y = local_data(node)
    lr = float(config.get("learning-rate", 0.1))
    # FedProx adds (mu/2)·||w - w_global||² to the local loss (Li et al., "Federated Optimization in
    # Heterogeneous Networks", MLSys 2020); FedAvg is mu = 0.
    mu = float(config.get("proximal-mu", 0.1)) if str(config.get("strategy", "fedavg")) == "fedprox" else 0.0
    w_global, b_global = w.copy(), b
    for _ in range(int(config.get("local-epochs", 20))):
        err = x @ w + b - y
        w -= lr * ((x.T @ err) / len(y) + mu * (w - w_global))
        b -= lr * (float(err.mean()) + mu * (b - b_global))
    loss = float(np.mean((x @ w + b - y) ** 2))
    content = RecordDict({
        "arrays": ArrayRecord([w, np.array([b])]),
        "metrics": MetricRecord({"num-examples": len(y), "train-loss": loss}),
    })
    return Message(content=content, reply_to=msg)
