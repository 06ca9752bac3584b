"""Every deployment in prefect.yaml deploys to a real Prefect server with its schedule and pool."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


async def _deployments() -> list:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return await client.read_deployments()


async def _create_pool(name: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    async with get_client() as client:
        with contextlib.suppress(ObjectAlreadyExists):
            await client.create_work_pool(WorkPoolCreate(name=name, type="process"))


def test_prefect_yaml_deploys_every_deployment(prefect_api: str) -> None:
    declared = yaml.safe_load((PROJECT / "prefect.yaml").read_text())["deployments"]
    asyncio.run(_create_pool("local-process"))
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "PWD": str(PROJECT)}
    done = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr

    deployed = {d.name: d for d in asyncio.run(_deployments())}
    for spec in declared:
        deployment = deployed[spec["name"]]
        assert deployment.entrypoint == spec["entrypoint"]
        assert deployment.work_pool_name == "local-process"
        assert deployment.job_variables["working_dir"] == str(PROJECT)
        assert deployment.global_concurrency_limit.limit == 1
        assert deployment.concurrency_options.collision_strategy == "CANCEL_NEW"
        schedules = {s.slug: s for s in deployment.schedules}
        for declared_schedule in spec["schedules"]:
            schedule = schedules[declared_schedule["slug"]].schedule
            assert schedule.cron == declared_schedule["cron"]
            assert schedule.timezone == "Europe/London"
