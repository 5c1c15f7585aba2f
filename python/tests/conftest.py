"""Shared fixtures: the corpus models compiled, set up and split once per session."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import zkinfer

ROOT = Path(__file__).resolve().parents[2]
CORPUS = (ROOT / ".." / "shared" / "corpus").resolve()
MLP = CORPUS / "sklearn" / "mlp2_relu_digits_stdops"
LENET = CORPUS / "cnn" / "lenet_digits"


def cli_binary() -> str:
    """The zkinfer CLI the interop tests run: $ZKINFER_BIN, else the workspace's build."""
    if os.environ.get("ZKINFER_BIN"):
        return os.environ["ZKINFER_BIN"]
    for profile in ("release", "debug"):
        p = ROOT / "target" / profile / "zkinfer"
        if p.exists():
            return str(p)
    found = shutil.which("zkinfer")
    if found:
        return found
    raise RuntimeError("no zkinfer CLI: cargo build --release --bin zkinfer, or set ZKINFER_BIN")


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [cli_binary(), *args], capture_output=True, text=True, check=check, timeout=600
    )


def input_data(case: Path):
    return json.loads((case / "input.json").read_text())["input_data"]


def expected_output(case: Path):
    return json.loads((case / "expected_output.json").read_text())


@pytest.fixture(scope="session")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("zkinfer")


@pytest.fixture(scope="session")
def mlp(work):
    """mlp2_relu_digits_stdops compiled and set up: (model.zkc, keys dir)."""
    model, keys = work / "mlp.zkc", work / "mlp-keys"
    zkinfer.compile(MLP / "model.onnx", model, input=MLP / "input.json")
    zkinfer.setup(model, keys)
    return model, keys


@pytest.fixture(scope="session")
def lenet(work):
    """lenet_digits compiled and set up: (model.zkc, keys dir)."""
    model, keys = work / "lenet.zkc", work / "lenet-keys"
    zkinfer.compile(LENET / "model.onnx", model, input=LENET / "input.json")
    zkinfer.setup(model, keys)
    return model, keys


@pytest.fixture(scope="session")
def lenet_shards(work, lenet):
    """LeNet in three shards, each set up: (shard paths, key dirs)."""
    paths = zkinfer.split(lenet[0], work / "lenet-shards", shards=3)
    keys = []
    for i, p in enumerate(paths):
        k = work / f"lenet-shard-keys-{i}"
        zkinfer.setup(p, k)
        keys.append(str(k))
    return paths, keys
