"""Measure in the environment of a transformers pin: this process, or that pin's venv.

One venv cannot hold two transformers versions, so the set-up builds one per pin
(lm_predictor/data/versions.py: `.venv` for 4.56.0, `.venv-tf5` for 5.23.0). When the pin
is not the transformers of this interpreter, the measurement runs in the pin's venv as
`python -m lm_predictor.verify.pinned_env`: a JSON request on stdin, one JSON answer on
stdout. The fallback to real tensors on a shrunk config (auto mode) runs there too, because
shrinking reads the pin's config defaults.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lm_predictor.data.versions import PINS
from lm_predictor.resources import repo_root
from lm_predictor.verify.errors import DecodeUnsupported, OracleUnsupported
from lm_predictor.workload import Workload

ENV_TIMEOUT_S = 1800
"""A measurement in another venv that takes longer than this is stopped (one-line error)."""


class PinEnvError(Exception):
    """The venv of a pin is missing or failed (one-line message)."""


def installed_transformers() -> str | None:
    """The transformers version of this interpreter, without importing it."""
    try:
        return importlib.metadata.version("transformers")
    except importlib.metadata.PackageNotFoundError:
        return None


def measure_for_pin(version: str, config: dict, workload: Workload, mode: str = "auto") -> tuple[Any, dict, str]:
    """(Measurement, the config measured, why it was shrunk or "") with transformers `version`.

    mode "auto": fake tensors, else real tensors on shrink_config(config), and the reason fake
    tensors could not run the model."""
    if installed_transformers() == version:
        return _measure_here(config, workload, mode)
    answer = _ask_env(version, {"config": config, "workload": asdict(workload), "mode": mode})
    if "unsupported" in answer:
        raise (DecodeUnsupported if answer.get("no_decode") else OracleUnsupported)(answer["unsupported"])
    from lm_predictor.verify.oracle import Measurement

    return Measurement(**answer["measurement"]), answer["config"], answer["shrunk"]


def _measure_here(config: dict, workload: Workload, mode: str) -> tuple[Any, dict, str]:
    """The auto fallback of `lmpredict verify`, in this process."""
    from lm_predictor.verify.oracle import measure, shrink_config

    try:
        return measure(config, workload, mode=mode), config, ""
    except OracleUnsupported as err:
        if mode != "auto" or isinstance(err, DecodeUnsupported):
            raise
        shrunk = shrink_config(config)
        return measure(shrunk, workload, mode="real"), shrunk, str(err)


def env_python(version: str, root: Path | None = None) -> Path:
    """The python of the venv that holds transformers `version`."""
    python = Path(root or repo_root()) / PINS[version].venv / "bin" / "python"
    if not python.is_file():
        raise PinEnvError(f"the transformers {version} oracle needs {python.parent.parent} (run `make setup`)")
    return python


def _ask_env(version: str, request: dict) -> dict:
    """Run one request in the pin's venv; its JSON answer."""
    python = env_python(version)
    cmd = [str(python), "-m", "lm_predictor.verify.pinned_env", version]
    try:
        done = subprocess.run(cmd, input=json.dumps(request), capture_output=True, text=True, timeout=ENV_TIMEOUT_S, cwd=repo_root())
    except subprocess.TimeoutExpired:
        raise PinEnvError(f"the transformers {version} oracle ran longer than {ENV_TIMEOUT_S} s") from None
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise PinEnvError(f"the transformers {version} oracle in {python.parent.parent} failed: {last}") from None
    if "error" in answer:
        raise PinEnvError(f"the transformers {version} oracle failed: {answer['error']}")
    return answer


def main(argv: list[str] | None = None) -> int:
    """`python -m lm_predictor.verify.pinned_env VERSION` < request.json: one JSON answer line."""
    argv = sys.argv[1:] if argv is None else argv
    installed = installed_transformers()
    try:
        if not argv or argv[0] != installed:
            raise PinEnvError(f"this venv has transformers {installed}, not {argv[0] if argv else '?'}")
        request = json.loads(sys.stdin.read())
        measurement, config, shrunk = _measure_here(request["config"], Workload(**request["workload"]), request["mode"])
        answer: dict = {"measurement": asdict(measurement), "config": config, "shrunk": shrunk}
    except OracleUnsupported as err:
        answer = {"unsupported": str(err), "no_decode": isinstance(err, DecodeUnsupported)}
    except Exception as err:  # noqa: BLE001 - the caller prints it as one line
        answer = {"error": f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"}
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
