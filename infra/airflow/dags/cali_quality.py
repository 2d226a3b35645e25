"""CALI data quality: `cali quality` over each hour of the archive.

Runs the CALI container image (the same image as the consumer) with the
KubernetesPodOperator. Each DAG run validates exactly its data interval
(--from data_interval_start --to data_interval_end), so catch-up and
backfills re-check past hours, and consecutive runs read every archived
record once. The task fails when the suite fails (cali exits 1).

Configuration (Airflow Variables, all optional):
  cali_image            container image, e.g. ghcr.io/acme/cali:1.4.0
  cali_namespace        namespace of the pod (default "cali")
  cali_service_account  service account with read access to the archive and
                        DLQ buckets and write access to the report prefix (IRSA)
  cali_report_uri       s3://bucket/prefix/ for the reports; each run writes
                        <prefix>/<run date>/<interval start>/report.html
  cali_suite_file       path of a suite file inside the image or a mounted
                        ConfigMap; unset means the built-in default suite

The pod takes its environment (CALI_ARCHIVE_URI, CALI_DLQ_URI, AWS_REGION,
CALI_PUSHGATEWAY_URL) from the ConfigMap "cali-quality" and SLACK_WEBHOOK_URL
from the Secret "cali-quality" (both optional references). See docs/quality.md.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.models import Variable
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

IMAGE = Variable.get("cali_image", default_var="ghcr.io/acme/cali:latest")
NAMESPACE = Variable.get("cali_namespace", default_var="cali")
SERVICE_ACCOUNT = Variable.get("cali_service_account", default_var="cali-quality")
REPORT_URI = Variable.get("cali_report_uri", default_var="")
SUITE_FILE = Variable.get("cali_suite_file", default_var="")

arguments = [
    "quality",
    "--from", "{{ data_interval_start.isoformat() }}",
    "--to", "{{ data_interval_end.isoformat() }}",
]
if REPORT_URI:
    arguments += ["--report", REPORT_URI.rstrip("/") + "/{{ ds_nodash }}/{{ data_interval_start.strftime('%Y%m%dT%H%M%SZ') }}/"]
if SUITE_FILE:
    arguments += ["--suite", SUITE_FILE]

with DAG(
    dag_id="cali_quality",
    description="Expectation suite over the CALI archive and DLQ, one data interval per run",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=2,
    default_args={
        "owner": "sre",
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(minutes=45),
    },
    tags=["cali", "data-quality"],
) as dag:
    KubernetesPodOperator(
        task_id="cali_quality",
        name="cali-quality",
        namespace=NAMESPACE,
        image=IMAGE,
        # The image's ENTRYPOINT is the cali CLI; only the arguments are given.
        arguments=arguments,
        service_account_name=SERVICE_ACCOUNT,
        env_from=[
            k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name="cali-quality", optional=True)),
            k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name="cali-quality", optional=True)),
        ],
        container_resources=k8s.V1ResourceRequirements(
            requests={"cpu": "1", "memory": "384Mi"},
            limits={"memory": "512Mi"},
        ),
        get_logs=True,
        on_finish_action="delete_succeeded_pod",
        startup_timeout_seconds=300,
    )
