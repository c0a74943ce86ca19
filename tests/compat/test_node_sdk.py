"""The same scenario with the official `stripe` npm package (tests/compat/package.json), when node is here.

`.ci/run` installs the package with `npm install --no-package-lock` (no lockfile: they record registry
addresses); without node or the installed package the test is skipped locally and required in CI
(PAYDECK_REQUIRE_NODE=1).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from server.payments import service as payments
from tests.factories import user_ctx

HERE = Path(__file__).parent
NODE = shutil.which("node")
INSTALLED = (HERE / "node_modules" / "stripe" / "package.json").exists()
INSTALL = "npm install --no-package-lock"


@pytest.mark.skipif(not (NODE and INSTALLED) and os.environ.get("PAYDECK_REQUIRE_NODE") != "1",
                    reason=f"node, or the stripe package ({INSTALL} in tests/compat), is not installed")
async def test_node_sdk_scenario(server, merchant, allow_private):
    assert NODE and INSTALLED, f"PAYDECK_REQUIRE_NODE=1: install node and run `{INSTALL}` in tests/compat"
    ctx = user_ctx(merchant.account["id"], merchant.user["id"])
    for i in range(250):
        await payments.create(ctx, 100 + i, "usd")
    # The scenario makes 3 more before it lists: 250 + its manual one + its declined one (the last comes after).
    process = await asyncio.create_subprocess_exec(
        NODE, "scenario.mjs", server, merchant.keys["secret_test"], "252", cwd=HERE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert result["ok"] and result["listed"] == 252 and result["verified"] == ["payment_intent.succeeded"]
    assert result["disputes"] == ["under_review", "lost"]
