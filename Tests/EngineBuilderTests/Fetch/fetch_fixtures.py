"""Puts test artifacts into the real servers the fetcher tests start (moto, docker-registry, MLflow).

Called by Tests/EngineBuilderTests/Fetch/*.swift with the Python of the tools venv that
scripts/setup.sh creates (boto3 from moto[server], oras, mlflow). Prints one JSON object.

  s3-setup ENDPOINT BUCKET            IAM user + key allowed s3:*, the bucket, then signature checks on
  oci-push HOST:PORT REPO:TAG FILE    oras push over plain HTTP; prints the manifest's layer digest
  token-server PORT DIR ISSUER         a registry token service (distribution docs/spec/auth/token.md):
                                      writes DIR/root.crt, then grants pull+push on any repository asked for, anonymously
  mlflow-register URI NAME DIR FILE ALIAS
                                      version 1: a run's artifacts DIR (source mlflow-artifacts:/…);
                                      version 2: a logged model holding FILE alone (source models:/m-…);
                                      ALIAS -> version 2
"""
import json
import os
import sys
import urllib.request


def s3_setup(endpoint, bucket):
    import boto3

    # moto takes any credentials until auth is switched on below.
    session = boto3.session.Session(aws_access_key_id="setup", aws_secret_access_key="setup", region_name="us-east-1")
    iam = session.client("iam", endpoint_url=endpoint)
    iam.create_user(UserName="edgeml")
    iam.put_user_policy(
        UserName="edgeml",
        PolicyName="s3-all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName="edgeml")["AccessKey"]
    session.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    # From now on every request must carry a valid SigV4 signature of an IAM key
    # (moto/moto_api/_internal/responses.py reset_auth_response; moto/iam/access_control.py check_signature).
    urllib.request.urlopen(urllib.request.Request(
        endpoint + "/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )).read()
    print(json.dumps({"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"]}))


def oci_push(registry, ref, path):
    import oras.client

    client = oras.client.OrasClient(hostname=registry, insecure=True)
    directory, name = os.path.split(os.path.abspath(path))
    cwd = os.getcwd()
    os.chdir(directory)  # oras names the layer after the path it was given
    try:
        client.push(target=f"{registry}/{ref}", files=[name], disable_path_validation=True)
    finally:
        os.chdir(cwd)
    manifest = client.get_manifest(f"{registry}/{ref}")
    print(json.dumps({"layerDigest": manifest["layers"][0]["digest"], "mediaType": manifest.get("mediaType")}))


def mlflow_register(uri, name, directory, single_file, alias):
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(uri)
    client = MlflowClient()
    with mlflow.start_run() as run:
        mlflow.log_artifacts(directory, artifact_path="model")
    client.create_registered_model(name)
    v1 = client.create_model_version(name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id)

    logged = mlflow.initialize_logged_model(name="engine-input")
    client.log_model_artifacts(logged.model_id, os.path.dirname(os.path.abspath(single_file)))
    mlflow.finalize_logged_model(logged.model_id, "READY")
    v2 = client.create_model_version(name, source=f"models:/{logged.model_id}", model_id=logged.model_id)
    client.set_registered_model_alias(name, alias, v2.version)
    print(json.dumps({"v1": v1.version, "v1Source": v1.source, "v2": v2.version, "v2Source": v2.source}))


def token_server(port, directory, issuer):
    import base64
    import datetime
    import http.server
    import urllib.parse
    import uuid

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    with open(os.path.join(directory, "root.crt"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def token(service, scopes):
        access = []
        for scope in scopes:  # repository:NAME:ACTIONS
            kind, _, rest = scope.partition(":")
            repo, _, _ = rest.rpartition(":")
            # pull and push whatever was asked: oras-py keeps its first (pull) token for the push.
            access.append({"type": kind, "name": repo, "actions": ["pull", "push"]})
        t = int(datetime.datetime.now(datetime.timezone.utc).timestamp())
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]}
        claims = {"iss": issuer, "sub": "", "aud": service, "exp": t + 300, "nbf": t - 60, "iat": t,
                  "jti": uuid.uuid4().hex, "access": access}
        signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
        r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return signing_input + "." + b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            query = urllib.parse.parse_qs(url.query)
            if url.path != "/token":
                self.send_error(404)
                return
            body = json.dumps({"token": token(query.get("service", [""])[0], query.get("scope", [])), "expires_in": 300}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    http.server.HTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    commands = {"s3-setup": s3_setup, "oci-push": oci_push, "token-server": token_server, "mlflow-register": mlflow_register}
    commands[command](*args)
