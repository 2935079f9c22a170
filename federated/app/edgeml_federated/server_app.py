"""The ServerApp: FedAvg rounds with a minimum of clients and a round timeout.

Each round sends the global model to every connected SuperNode and waits until all answered, or
`round-timeout` seconds passed and at least `min-clients` answered: then the round is aggregated
from the replies it has (a straggler does not hold it). Before `min-clients` answered it waits on,
up to ten timeouts (a ClientApp's first start on a slow device), then the run fails.
The aggregated model is written to $EDGEML_FEDERATED_OUTPUT and announced in the log as one line
`EDGEML_MODEL {"uri": …, "digest": …, "rounds": […]}` that the run Job reports (docs/federated.md).
"""

import hashlib
import io
import json
import os
import time

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.serverapp import Grid, ServerApp

app = ServerApp()

POLL_SECONDS = 0.2


def wait_for_nodes(grid: Grid, minimum: int, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        nodes = sorted(grid.get_node_ids())
        if len(nodes) >= minimum:
            return nodes
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(nodes)} SuperNode(s) connected after {timeout}s; min-clients is {minimum}")
        time.sleep(1.0)


def run_round(grid: Grid, number: int, weights: list[np.ndarray], nodes: list[int],
              min_clients: int, timeout: float) -> tuple[list[tuple[list[np.ndarray], int]], list[int]]:
    """One round: the replies (arrays, examples) and the nodes that had not answered at the end."""
    content = RecordDict({"arrays": ArrayRecord(weights), "config": ConfigRecord({"round": number})})
    messages = [Message(content=content, dst_node_id=node, message_type="train", group_id=str(number)) for node in nodes]
    pending = {mid: node for mid, node in zip(grid.push_messages(messages), nodes)}
    replies: list[tuple[list[np.ndarray], int]] = []
    deadline = time.monotonic() + timeout
    while pending:
        for reply in grid.pull_messages(list(pending)):
            pending.pop(reply.metadata.reply_to_message_id, None)
            if reply.has_error():
                print(f"round {number}: node {reply.metadata.src_node_id} failed: {reply.error.reason}", flush=True)
                continue
            examples = int(reply.content["metrics"]["num-examples"])
            replies.append((reply.content["arrays"].to_numpy_ndarrays(), examples))
        if not pending or (time.monotonic() >= deadline and len(replies) >= min_clients):
            break
        if time.monotonic() >= deadline + 9 * timeout:
            break
        time.sleep(POLL_SECONDS)
    if len(replies) < min_clients:
        raise RuntimeError(f"round {number}: {len(replies)} client(s) answered within {10 * timeout}s; min-clients is {min_clients}")
    return replies, sorted(pending.values())


def fedavg(replies: list[tuple[list[np.ndarray], int]]) -> list[np.ndarray]:
    """The sample-weighted mean of each array (McMahan et al. 2017, FedAvg)."""
    total = sum(n for _, n in replies)
    return [sum(arrays[i] * (n / total) for arrays, n in replies) for i in range(len(replies[0][0]))]


@app.main()
def main(grid: Grid, context: Context) -> None:
    config = context.run_config
    # FedProx differs from FedAvg only in the clients' local objective; both aggregate by sample count.
    if str(config.get("strategy", "fedavg")) not in ("fedavg", "fedprox"):
        raise RuntimeError(f"strategy {config['strategy']} is not supported by this app (fedavg, fedprox)")
    rounds, min_clients = int(config["num-server-rounds"]), int(config["min-clients"])
    timeout = float(config["round-timeout"])
    nodes = wait_for_nodes(grid, min_clients, float(config.get("connect-timeout", 120.0)))
    weights = [np.zeros(3), np.zeros(1)]
    history = []
    for number in range(1, rounds + 1):
        started = time.monotonic()
        replies, late = run_round(grid, number, weights, nodes, min_clients, timeout)
        weights = fedavg(replies)
        history.append({"round": number, "clients": len(replies), "late": len(late),
                        "seconds": round(time.monotonic() - started, 2)})
        print(f"round {number}: {len(replies)} of {len(nodes)} client(s) aggregated, {len(late)} late", flush=True)
    buffer = io.BytesIO()
    np.savez(buffer, weights=weights[0], bias=weights[1])
    data = buffer.getvalue()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    out_dir = os.path.join(os.environ.get("EDGEML_FEDERATED_OUTPUT", os.getcwd()), f"run-{context.run_id}")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{config.get('model-name', 'model')}.npz")
    with open(path, "wb") as f:
        f.write(data)
    report = {"uri": "file://" + os.path.abspath(path), "digest": digest, "rounds": history,
              "weights": [round(float(v), 4) for v in weights[0]], "bias": round(float(weights[1][0]), 4)}
    print("EDGEML_MODEL " + json.dumps(report), flush=True)
