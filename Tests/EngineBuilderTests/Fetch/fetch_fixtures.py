"""Puts test artifacts into the real servers the fetcher tests start (moto, docker-registry, MLflow).

Called by Tests/EngineBuilderTests/Fetch/*.swift with the Python of the tools venv that
scripts/setup.sh creates (boto3 from moto[server], oras, mlflow). Prints one JSON object.

  s3-setup ENDPOINT BUCKET            IAM user + key allowed s3:*, the bucket, then signature checks on
  oci-push HOST:PORT REPO:TAG FILE    oras push over plain HTTP; prints the manifest's layer digest
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


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"s3-setup": s3_setup, "oci-push": oci_push, "mlflow-register": mlflow_register}[command](*args)
