"""The release image (Containerfile, scripts/image/build.sh), as `make image` built it into .build-image/.

Checked the way a cluster meets it: its config as skopeo reads it (entrypoint, user, labels), its root
filesystem unpacked and the binaries run in it with chroot as user 65532 — so every library they load,
libcurl (loaded with dlopen on the first HTTP request) and the CA bundle included, is in the image —
and a push to a real registry (Debian's docker-registry on loopback) and a pull back by digest.

`make test` builds the image before the acceptance tests; where buildah cannot run, the build leaves
.build-image/skipped with the reason and these tests skip with it.
"""
import hashlib
import http.server
import json
import os
import shutil
import ssl
import subprocess
import tarfile
import threading
import time
import urllib.request

import pytest
import yaml

from conftest import ROOT

OUT = os.path.join(ROOT, ".build-image")
BINARIES = ["edgeml", "edgeml-operator", "edgeml-engine"]


@pytest.fixture(scope="module")
def built():
    skipped = os.path.join(OUT, "skipped")
    if os.path.exists(skipped):
        pytest.skip(f"the release image was not built here: {open(skipped).read().strip()}")
    path = os.path.join(OUT, "image.json")
    if not os.path.exists(path):
        pytest.fail("no release image in .build-image/: run `make image` (it builds the image, then runs this file)")
    return json.load(open(path))


def skopeo(*args):
    r = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"skopeo {' '.join(args)}: {r.stderr}"
    return r.stdout


@pytest.fixture(scope="module")
def config(built):
    return json.loads(skopeo("inspect", "--config", f"oci-archive:{built['archive']}"))


@pytest.fixture(scope="module")
def rootfs(built, tmp_path_factory):
    """The image's root filesystem: its layers, in order, unpacked as a container runtime would."""
    if os.geteuid() != 0:
        pytest.skip("running the image's binaries with chroot and unpacking its files' owners needs root")
    work = tmp_path_factory.mktemp("image")
    layout = work / "layout"
    skopeo("copy", "--quiet", f"oci-archive:{built['archive']}", f"dir:{layout}")
    manifest = json.load(open(layout / "manifest.json"))
    root = work / "rootfs"
    root.mkdir()
    for layer in manifest["layers"]:
        blob = layout / layer["digest"].split(":", 1)[1]
        with tarfile.open(blob, "r:*") as tar:
            members = tar.getmembers()
            # An image built FROM scratch deletes nothing, so no layer should carry an OCI whiteout.
            assert not [m.name for m in members if os.path.basename(m.name).startswith(".wh.")]
            tar.extractall(root, members=members, numeric_owner=True, filter="fully_trusted")
    return root


def in_image(rootfs, *command, **kwargs):
    """Runs a command inside the unpacked image as the image's user, as a container runtime would:
    its own /proc (in a new mount and PID namespace, gone with it) and an environment of the image's
    PATH only. Without /proc the Swift binaries lose their arguments (they read /proc/self/cmdline):
    `edgeml-operator --help` would start the operator instead."""
    os.makedirs(rootfs / "proc", exist_ok=True)
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    unshare = shutil.which("unshare") or "/usr/bin/unshare"
    return subprocess.run([unshare, "--mount", "--pid", "--fork", f"--mount-proc={rootfs}/proc",
                           chroot, "--userspec=65532:65532", str(rootfs), *command], capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/local/bin:/usr/bin:/bin"}, **kwargs)


def test_config_runs_edgeml_as_user_65532_with_the_release_labels(built, config):
    c = config["config"]
    assert c["Entrypoint"] == ["/usr/local/bin/edgeml"]
    assert c["User"] == "65532:65532"
    assert "PATH=/usr/local/bin:/usr/bin:/bin" in c["Env"]
    labels = c["Labels"]
    chart = yaml.safe_load(open(os.path.join(ROOT, "charts", "edgeml-operator", "Chart.yaml")))
    assert labels["org.opencontainers.image.version"] == chart["appVersion"]
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert labels["org.opencontainers.image.revision"] == head, "the image is older than the checkout: make image"
    assert labels["org.opencontainers.image.source"].startswith("https://")
    assert labels["org.opencontainers.image.licenses"] == built["licenses"]
    assert config["os"] == "linux"


def test_the_image_holds_exactly_the_pinned_packages(rootfs):
    pins = [line.split("=", 1) for line in open(os.path.join(ROOT, "scripts", "image", "debian-packages.txt"))
            if line.strip() and not line.startswith("#")]
    status = rootfs / "var" / "lib" / "dpkg" / "status.d"
    recorded = {}
    for name in os.listdir(status):
        fields = dict(line.split(": ", 1) for line in open(status / name).read().splitlines() if ": " in line)
        recorded[fields["Package"]] = fields["Version"]
    assert recorded == {name: version.strip() for name, version in pins}


@pytest.mark.parametrize("binary", BINARIES)
def test_each_binary_runs_in_the_image_as_user_65532(rootfs, binary):
    r = in_image(rootfs, f"/usr/local/bin/{binary}", "--help")
    assert r.returncode == 0, r.stderr
    assert "USAGE:" in r.stdout, r.stdout


def test_the_entrypoint_runs_in_the_image(rootfs, config):
    r = in_image(rootfs, *config["config"]["Entrypoint"], *config["config"]["Cmd"])
    assert r.returncode == 0, r.stderr
    assert "node-agent" in r.stdout and "operator" in r.stdout, r.stdout


def test_edgeml_validate_runs_in_the_image(rootfs):
    """`edgeml validate` loads KubeEmulator's upstream OpenAPI documents, a SwiftPM resource bundle
    that must sit beside the binary (SwiftPM's Bundle.module traps otherwise): the image carries it,
    so a CI job can validate manifests with the release image alone (docs/ci.md)."""
    work = rootfs / "tmp" / f"validate-{time.monotonic_ns()}"
    os.makedirs(work)
    valid = os.path.join(ROOT, "examples", "edgemodel-orin-nx-fp16.yaml")
    invalid = os.path.join(ROOT, "examples", "invalid", "edgemodel-unknown-precision.yaml")
    shutil.copy(valid, work / "valid.yaml")
    shutil.copy(invalid, work / "invalid.yaml")
    inside = f"/tmp/{work.name}"
    r = in_image(rootfs, "edgeml", "validate", f"{inside}/valid.yaml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "is valid" in r.stdout and "1 valid, 0 invalid" in r.stdout, r.stdout
    expect = next(l[len("# expect: "):].strip() for l in open(invalid) if l.startswith("# expect: "))
    r = in_image(rootfs, "edgeml", "validate", "--format", "github", f"{inside}/invalid.yaml")
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.startswith(f"::error file={inside}/invalid.yaml,line=") and expect in r.stdout, r.stdout


class Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def model_server(tmp_path):
    """A loopback HTTPS server with a self-signed certificate, serving model.onnx."""
    body = b"not really onnx, but fetched byte for byte " * 100
    (tmp_path / "model.onnx").write_bytes(body)
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a, **kw: Files(*a, directory=str(tmp_path), **kw))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"uri": f"https://127.0.0.1:{server.server_port}/model.onnx",
           "digest": "sha256:" + hashlib.sha256(body).hexdigest(), "cert": cert}
    server.shutdown()


def engine_in_image(rootfs, uri, digest, *extra):
    """`edgeml-engine` in the image, building from `uri`. The image has no trtexec, so a fetch that
    works ends in the build step's failure; the result JSON and the log say which step failed."""
    run = f"run-{time.monotonic_ns()}"
    os.makedirs(rootfs / "tmp" / run)
    os.chown(rootfs / "tmp" / run, 65532, 65532)
    r = in_image(rootfs, "edgeml-engine", "--model-uri", uri, "--model-digest", digest, "--precision", "fp16",
                 "--key", "sha256:" + "0" * 64, "--cache-dir", f"/tmp/{run}/cache", "--output-dir", f"/tmp/{run}/out",
                 "--model-name", "m", "--model-version", "1", "--layout", "plain",
                 "--termination-log", f"/tmp/{run}/result.json", *extra)
    result = rootfs / "tmp" / run / "result.json"
    assert result.exists(), f"edgeml-engine wrote no result (exit {r.returncode}): {r.stderr}"
    return r, json.load(open(result))


def test_the_image_ca_bundle_holds_the_debian_roots(rootfs):
    bundle = rootfs / "etc" / "ssl" / "certs" / "ca-certificates.crt"
    assert len(ssl.create_default_context(cafile=str(bundle)).get_ca_certs()) > 100


def test_the_engine_in_the_image_fetches_over_https_with_libcurl_and_the_ca_bundle(rootfs, model_server):
    # A self-signed server is refused by certificate verification (curl's code 60): libcurl and
    # OpenSSL loaded, and the CA bundle was read. A missing library would say "cannot load
    # libcurl.so.4"; a missing bundle, curl's code 77 ("Problem with the SSL CA cert").
    r, result = engine_in_image(rootfs, model_server["uri"], model_server["digest"])
    assert r.returncode != 0 and result["reason"] == "FetchFailed", result
    assert "certificate" in result["message"].lower() and "CA cert" not in result["message"], result
    # Trusting that certificate (`--ca-file`, as an EdgeModel's CA does) lets the fetch and the digest
    # check through: the build then fails for want of trtexec, which the image does not carry.
    shutil.copy(model_server["cert"], rootfs / "tmp" / "server-ca.pem")
    r, result = engine_in_image(rootfs, model_server["uri"], model_server["digest"], "--ca-file", "/tmp/server-ca.pem")
    assert r.returncode != 0 and result["reason"] not in ("FetchFailed", "DigestMismatch"), result
    assert "trtexec" in result["message"], result


def test_the_engine_copied_out_of_the_image_runs_in_a_root_holding_nothing_else(rootfs, model_server, tmp_path):
    """What the `edgeml-tools` init container does for an L4T builder image (docs/engine-builds.md):
    the image's edgeml-engine copies itself, its loader, libraries and CA bundle out, and the copy
    runs in a root file system that has none of ours — no libc, no libcurl — fetching over HTTPS."""
    name = f"tools-{time.monotonic_ns()}"
    os.makedirs(rootfs / "tmp" / name)
    os.chown(rootfs / "tmp" / name, 65532, 65532)
    r = in_image(rootfs, "edgeml-engine", "--install-to", f"/tmp/{name}/tools")
    assert r.returncode == 0, r.stderr
    other = tmp_path / "l4t"
    shutil.copytree(rootfs / "tmp" / name / "tools", other / "edgeml" / "tools", symlinks=True)
    assert not (other / "lib").exists() and not (other / "usr").exists() and not (other / "etc").exists()
    (other / "work").mkdir()
    os.chown(other / "work", 65532, 65532)
    shutil.copy(model_server["cert"], other / "work" / "server-ca.pem")
    r = in_image(other, "/edgeml/tools/ld.so", "--library-path", "/edgeml/tools/lib", "/edgeml/tools/edgeml-engine",
                 "--model-uri", model_server["uri"], "--model-digest", model_server["digest"], "--precision", "fp16",
                 "--key", "sha256:" + "0" * 64, "--cache-dir", "/work/cache", "--output-dir", "/work/out",
                 "--model-name", "m", "--model-version", "1", "--layout", "plain", "--termination-log", "/work/result.json",
                 "--ca-file", "/work/server-ca.pem")
    assert (other / "work" / "result.json").exists(), r.stderr
    result = json.load(open(other / "work" / "result.json"))
    # Fetched through the copy's own libcurl and checked: what fails is the build, for want of trtexec
    # (the L4T image brings it).
    assert result["reason"] not in ("FetchFailed", "DigestMismatch") and "trtexec" in result["message"], result


@pytest.fixture
def registry(tmp_path):
    """Debian's docker-registry (distribution 2.8) on a loopback port, storing under tmp_path."""
    from test_operator import free_port

    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    if not os.path.exists(binary):
        pytest.fail("docker-registry is not installed: scripts/setup.sh installs it")
    address = f"127.0.0.1:{free_port()}"
    (tmp_path / "config.yml").write_text(yaml.safe_dump({
        "version": 0.1, "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(tmp_path / "storage")}},
        "http": {"addr": address}}))
    log = open(tmp_path / "registry.log", "w")
    proc = subprocess.Popen([binary, "serve", str(tmp_path / "config.yml")], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://{address}/v2/", timeout=2)
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, open(tmp_path / "registry.log").read()
            time.sleep(0.1)
    yield address
    proc.terminate()
    proc.wait(timeout=15)


def test_the_image_goes_to_a_registry_and_comes_back_by_digest(built, registry, tmp_path):
    repository = f"{registry}/edgeml/edgeml"
    tag = built["image"].rsplit(":", 1)[1]
    digest_file = tmp_path / "digest"
    skopeo("copy", "--quiet", "--dest-tls-verify=false", "--digestfile", str(digest_file),
           f"oci-archive:{built['archive']}", f"docker://{repository}:{tag}")
    digest = digest_file.read_text().strip()
    assert digest.startswith("sha256:")
    # The tag resolves to the digest the push reported.
    remote = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{repository}:{tag}"))
    assert remote["Digest"] == digest
    # Pulled back by digest: the same config and the same layers, byte for byte.
    pulled = tmp_path / "pulled"
    skopeo("copy", "--quiet", "--src-tls-verify=false", f"docker://{repository}@{digest}", f"dir:{pulled}")
    manifest_bytes = open(pulled / "manifest.json", "rb").read()
    assert "sha256:" + hashlib.sha256(manifest_bytes).hexdigest() == digest
    original = json.loads(skopeo("inspect", "--raw", f"oci-archive:{built['archive']}"))
    manifest = json.loads(manifest_bytes)
    assert manifest["config"]["digest"] == original["config"]["digest"]
    assert [l["digest"] for l in manifest["layers"]] == [l["digest"] for l in original["layers"]]
    for blob in [manifest["config"], *manifest["layers"]]:
        data = open(pulled / blob["digest"].split(":", 1)[1], "rb").read()
        assert "sha256:" + hashlib.sha256(data).hexdigest() == blob["digest"]
