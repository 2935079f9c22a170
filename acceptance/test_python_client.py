"""The official Kubernetes Python client against `edgeml sim`."""
import threading

import pytest

kubernetes = pytest.importorskip("kubernetes", reason="the official Python client is installed by scripts/setup.sh")
from kubernetes import client, config, watch  # noqa: E402
from kubernetes.client.rest import ApiException  # noqa: E402


def core(sim):
    return client.CoreV1Api(config.new_client_from_config(config_file=sim.kubeconfig))


def make_cm(name, labels=None, data=None):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels or {}), data=data or {})


def test_list_with_pagination_returns_every_object_once(sim):
    api = core(sim)
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="paging")))
    for i in range(23):
        api.create_namespaced_config_map("paging", make_cm(f"cm-{i:02d}", {"batch": "p"}))
    seen, token, pages = [], None, 0
    while True:
        page = api.list_namespaced_config_map("paging", limit=5, _continue=token, label_selector="batch=p")
        seen += [c.metadata.name for c in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
        assert len(page.items) == 5
    assert pages == 5
    assert seen == [f"cm-{i:02d}" for i in range(23)]


def test_watch_resumes_from_a_resource_version(sim):
    api = core(sim)
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="resume")))
    api.create_namespaced_config_map("resume", make_cm("a"))
    rv = api.list_namespaced_config_map("resume").metadata.resource_version
    # Changes made while nobody watches are delivered to a watch started from rv.
    api.create_namespaced_config_map("resume", make_cm("b"))
    api.patch_namespaced_config_map("a", "resume", {"data": {"k": "v"}})
    api.delete_namespaced_config_map("b", "resume")
    events = []
    w = watch.Watch()
    for event in w.stream(api.list_namespaced_config_map, "resume", resource_version=rv, timeout_seconds=2):
        events.append((event["type"], event["object"].metadata.name))
    assert events == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]


def test_watch_delivers_live_events_in_order(sim):
    api = core(sim)
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="live")))
    rv = api.list_namespaced_config_map("live").metadata.resource_version
    got = []

    def consume():
        w = watch.Watch()
        for event in w.stream(api.list_namespaced_config_map, "live", resource_version=rv, timeout_seconds=4):
            got.append((event["type"], event["object"].metadata.name, event["object"].metadata.resource_version))

    t = threading.Thread(target=consume)
    t.start()
    for i in range(5):
        api.create_namespaced_config_map("live", make_cm(f"x{i}"))
    t.join()
    assert [g[1] for g in got] == [f"x{i}" for i in range(5)]
    rvs = [int(g[2]) for g in got]
    assert rvs == sorted(rvs)


def test_watch_from_a_compacted_version_gets_410(small_history_sim):
    api = core(small_history_sim)
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="old")))
    rv = api.list_namespaced_config_map("old").metadata.resource_version
    for i in range(40):   # history limit is 20 events
        api.create_namespaced_config_map("old", make_cm(f"c{i}"))
    w = watch.Watch()
    with pytest.raises(ApiException) as info:
        for _ in w.stream(api.list_namespaced_config_map, "old", resource_version=rv, timeout_seconds=2):
            pass
    assert info.value.status == 410


def test_expired_continue_token_gets_410(small_history_sim):
    api = core(small_history_sim)
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="expire")))
    for i in range(6):
        api.create_namespaced_config_map("expire", make_cm(f"e{i}"))
    page = api.list_namespaced_config_map("expire", limit=2)
    for i in range(30):
        api.create_namespaced_config_map("expire", make_cm(f"later{i}"))
    with pytest.raises(ApiException) as info:
        api.list_namespaced_config_map("expire", limit=2, _continue=page.metadata._continue)
    assert info.value.status == 410
    assert "continue parameter is too old" in info.value.body


def test_patch_types_from_the_python_client(sim):
    api = core(sim)
    apps = client.AppsV1Api(api.api_client)
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="patching")))
    api.create_namespaced_config_map("patching", make_cm("p", data={"a": "1", "b": "2"}))
    # The Python client sends dict bodies as strategic merge patch for built-ins.
    api.patch_namespaced_config_map("p", "patching", {"data": {"b": None, "c": "3"}})
    assert api.read_namespaced_config_map("p", "patching").data == {"a": "1", "c": "3"}
    # A list body is sent as a JSON patch.
    api.patch_namespaced_config_map("p", "patching", [{"op": "add", "path": "/data/d", "value": "4"}])
    assert api.read_namespaced_config_map("p", "patching").data == {"a": "1", "c": "3", "d": "4"}


def test_conflict_and_not_found_are_status_errors(sim):
    api = core(sim)
    api.create_namespaced_config_map("default", make_cm("cc"))
    obj = api.read_namespaced_config_map("cc", "default")
    api.patch_namespaced_config_map("cc", "default", {"data": {"x": "1"}})
    obj.data = {"x": "2"}
    with pytest.raises(ApiException) as info:
        api.replace_namespaced_config_map("cc", "default", obj)
    assert info.value.status == 409
    with pytest.raises(ApiException) as info:
        api.read_namespaced_config_map("nope", "default")
    assert info.value.status == 404
    assert '"reason":"NotFound"' in info.value.body
