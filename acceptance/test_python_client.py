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


def test_a_list_shows_every_change_since_the_last_list(sim):
    """The emulator keeps each LIST item's JSON until the object changes: a second LIST must show a
    patched object's new content, drop a deleted one, and match a GET of each object."""
    import json
    api = core(sim)
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="relist")))
    for i in range(5):
        api.create_namespaced_config_map("relist", make_cm(f"cm-{i}", {"t": "relist"}, {"v": "1"}))

    def raw_list():
        return json.loads(api.list_namespaced_config_map("relist", label_selector="t=relist", _preload_content=False).data)

    first = raw_list()
    assert [i["data"]["v"] for i in first["items"]] == ["1"] * 5
    api.patch_namespaced_config_map("cm-2", "relist", {"data": {"v": "2"}})
    api.delete_namespaced_config_map("cm-4", "relist")
    second = raw_list()
    assert [(i["metadata"]["name"], i["data"]["v"]) for i in second["items"]] == [("cm-0", "1"), ("cm-1", "1"), ("cm-2", "2"), ("cm-3", "1")]
    for item in second["items"]:
        # Items of a built-in list carry no kind or apiVersion (the list says them once); the rest is the object.
        assert "kind" not in item and "apiVersion" not in item
        whole = json.loads(api.read_namespaced_config_map(item["metadata"]["name"], "relist", _preload_content=False).data)
        assert {k: v for k, v in whole.items() if k not in ("kind", "apiVersion")} == item
    assert raw_list() == second


def test_a_custom_resource_listed_in_two_versions_names_each(sim):
    """A CRD served in two versions: the same objects listed through each carry that version."""
    import json
    ext = client.ApiextensionsV1Api(config.new_client_from_config(config_file=sim.kubeconfig))
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    ext.create_custom_resource_definition({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.relist.example.com"},
        "spec": {"group": "relist.example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": schema},
                              {"name": "v2", "served": True, "storage": False, "schema": schema}]}})
    from conftest import wait_for
    custom = client.CustomObjectsApi(config.new_client_from_config(config_file=sim.kubeconfig))

    def created():
        try:
            custom.create_namespaced_custom_object("relist.example.com", "v1", "default", "widgets",
                                                   {"apiVersion": "relist.example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "size": 3})
            return True
        except ApiException as e:
            if e.status == 404:
                return False
            raise
    assert wait_for(created, timeout=20)
    for version in ("v1", "v2", "v1"):
        items = custom.list_namespaced_custom_object("relist.example.com", version, "default", "widgets")["items"]
        assert [(i["apiVersion"], i["kind"], i["size"]) for i in items] == [(f"relist.example.com/{version}", "Widget", 3)]
    ext.delete_custom_resource_definition("widgets.relist.example.com")
