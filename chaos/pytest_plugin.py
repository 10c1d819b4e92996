"""The pytest plugin: outages inside an application's own test suite.

Registered through the ``pytest11`` entry point. Fixtures ``chaos`` (a :class:`ChaosController`),
``chaos_aws`` (moto's ``mock_aws`` with fake credentials) and ``chaos_fault``; markers
``@pytest.mark.chaos(...)`` and ``@pytest.mark.chaos_matrix(...)``; options ``--chaos-seed`` and
``--chaos-compress-time`` (ini: ``chaos_seed``, ``chaos_compress_time``).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, NoReturn

import pytest

from chaos.api import s3_outage
from chaos.controller import ChaosController
from chaos.engine import botodata
from chaos.engine.fault import Fault
from chaos.errors import ConfigError
from chaos.gate import Refused
from chaos.loading import load_experiment
from chaos.model import Experiment, Guardrails

__all__ = ["MarkerOptions", "MatrixOptions"]

S3_ERROR_KINDS = (
    "unavailable",
    "slow_down",
    "throttle",
    "internal_error",
    "access_denied",
    "connection_error",
    "timeout",
)


@dataclass(frozen=True)
class MarkerOptions:
    """Keyword arguments of ``@pytest.mark.chaos`` (a typo is an error, not silently ignored)."""

    experiment: str | None = None
    """An experiment file whose faults are armed for the test (relative to the test file)."""
    fault: str | int | None = None
    """With ``experiment``: only this fault (its name, label or index), active for the whole test body."""
    seed: int | None = None
    compress_time: bool | None = None
    session: Any = None


@dataclass(frozen=True)
class MatrixOptions:
    """Keyword arguments of ``@pytest.mark.chaos_matrix``."""

    region: str = "us-east-1"
    """For the built-in sets: the region the faults aim at."""
    experiment: str | None = None
    """Every fault of this experiment file, one test each."""
    faults: tuple[Fault, ...] = ()


def _misuse(message: str) -> NoReturn:
    """A marker used wrongly: the test (or the collection of a matrix) errors with this message, no traceback."""
    pytest.fail(message, pytrace=False)


def _load(path: Path, marker: str) -> Experiment:
    """The marker's experiment file, or the test errors with the file's located problems."""
    try:
        return load_experiment(path)
    except ConfigError as exc:
        message = f"{marker}:\n{exc}"
    _misuse(message)  # outside the except: no "during handling of the above exception"


def _options(cls: type[Any], kwargs: dict[str, Any], marker: str) -> Any:
    names = [field.name for field in fields(cls)]
    for key in kwargs:
        if key not in names:
            hint = botodata.suggest(key, names)
            _misuse(f"@pytest.mark.{marker}: unknown argument {key!r}{hint} (arguments: {', '.join(names)})")
    return cls(**kwargs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos", "chaos-outage: fault injection")
    group.addoption(
        "--chaos-seed",
        type=int,
        default=None,
        help="Seed of probability faults (default: ini chaos_seed, else random).",
    )
    group.addoption(
        "--chaos-compress-time",
        action="store_true",
        default=None,
        help="Make botocore's retry backoff and injected waits instantaneous (attempt counts unchanged).",
    )
    parser.addini("chaos_seed", "Seed of probability faults.", default="")
    parser.addini("chaos_compress_time", "Compress time in every test that uses chaos.", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "chaos(*faults, experiment=None, fault=None, seed=None, compress_time=None, session=None): "
        "arm these faults (or an experiment file's) for the test body (armed after every fixture is set up)",
    )
    config.addinivalue_line(
        "markers",
        "chaos_matrix(set=None, *, region='us-east-1', experiment=None, faults=()): "
        "run the test once per fault of a set ('s3_errors'), of an experiment file, or of a list",
    )


def _relative(request: pytest.FixtureRequest, path: str) -> Path:
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists():
        return candidate
    return Path(str(request.node.path)).parent / candidate


def _seed(config: pytest.Config, marker_seed: int | None) -> int | None:
    if marker_seed is not None:
        return marker_seed
    option = config.getoption("--chaos-seed")
    if option is not None:
        return int(option)
    ini = str(config.getini("chaos_seed")).strip()
    return int(ini) if ini else None


def _compress(config: pytest.Config, marker_value: bool | None) -> bool:
    if marker_value is not None:
        return marker_value
    if config.getoption("--chaos-compress-time"):
        return True
    return bool(config.getini("chaos_compress_time"))


def _experiment_faults(
    request: pytest.FixtureRequest, path: str, fault: str | int | None
) -> tuple[tuple[Fault, ...], int | None, Guardrails]:
    experiment = _load(_relative(request, path), f"@pytest.mark.chaos(experiment={path!r})")
    if fault is None:
        return experiment.faults, experiment.seed, experiment.guardrails
    for index, candidate in enumerate(experiment.faults):
        if fault in (index, candidate.name, candidate.label):
            # A named fault on its own: active for the whole test body, whatever its place in the timeline.
            whole = candidate.model_copy(update={"after": 0.0, "for_": None})
            return (whole,), experiment.seed, experiment.guardrails
    names = ", ".join(repr(f.name or f.label) for f in experiment.faults)
    _misuse(f"@pytest.mark.chaos: {path} has no fault {fault!r}; its faults: {names}")


@dataclass(frozen=True)
class _Arming:
    """What the ``chaos`` fixture leaves for the test body: the marker's and the matrix's faults."""

    controller: ChaosController
    faults: tuple[Fault, ...]
    session: Any
    guardrails: Guardrails | None


_ARMING = pytest.StashKey[_Arming]()


@pytest.fixture
def chaos(request: pytest.FixtureRequest) -> Iterator[ChaosController]:
    """A controller to arm outages during the test: ``s3_outage``, ``region_outage``, ``inject``,
    the ledger (``calls``, ``fired``) and ``assert_fired`` / ``assert_not_called``. Faults are
    removed when the test body ends, everything at teardown, pass or fail."""
    marker = request.node.get_closest_marker("chaos")
    options = _options(MarkerOptions, dict(marker.kwargs), "chaos") if marker else MarkerOptions()
    faults: list[Fault] = list(marker.args) if marker else []
    seed = options.seed
    guardrails = None
    if options.experiment is not None:
        from_file, file_seed, guardrails = _experiment_faults(request, options.experiment, options.fault)
        faults.extend(from_file)
        seed = seed if seed is not None else (request.config.getoption("--chaos-seed") or file_seed)
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("chaos_fault") is not None:
        faults.append(callspec.params["chaos_fault"])  # this instance of a chaos_matrix test
    controller = ChaosController(
        seed=_seed(request.config, seed),
        compress_time=_compress(request.config, options.compress_time),
        project_dir=request.config.rootpath,  # the project under test's [tool.chaos], wherever pytest runs from
    )
    try:
        refusal = None
        if faults:
            try:  # refused here, before the test runs; armed by pytest_runtest_call, around the body only
                controller.check(*faults, session=options.session, guardrails=guardrails)
            except Refused as exc:
                refusal = str(exc)
        if refusal is not None:
            pytest.fail(f"@pytest.mark.chaos: {refusal}", pytrace=False)
        request.node.stash[_ARMING] = _Arming(controller, tuple(faults), options.session, guardrails)
        yield controller
    finally:
        if _ARMING in request.node.stash:  # items live for the session; the ledger need not
            del request.node.stash[_ARMING]
        controller.close()
        request.node.user_properties.append(("chaos", controller.summary()))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    # The marker's and the matrix's faults are armed once every fixture is set up, whatever the
    # order of the fixtures, and every fault is removed before any fixture is torn down: the
    # suite's own fixtures (creating buckets, cleaning up) run outside the outage.
    arming = item.stash.get(_ARMING, None)
    if arming is None:
        return (yield)
    if arming.faults:
        try:
            arming.controller.inject(*arming.faults, session=arming.session, guardrails=arming.guardrails)
        except Refused as exc:  # faults a fixture armed count toward max_concurrent_faults
            pytest.fail(f"@pytest.mark.chaos: {exc}", pytrace=False)
    try:
        return (yield)
    finally:
        arming.controller.clear()


@pytest.fixture
def chaos_fault(request: pytest.FixtureRequest) -> Fault | None:
    """The fault of this instance of a ``chaos_matrix`` test (None outside a matrix)."""
    return getattr(request, "param", None)


@pytest.fixture
def chaos_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's in-process AWS with fake credentials, for suites that do not have their own."""
    from moto import mock_aws  # noqa: PLC0415 - moto is heavy: only for the tests that use it

    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


def _matrix(metafunc: pytest.Metafunc, marker: pytest.Mark) -> list[Fault]:
    args = list(marker.args)
    options = _options(MatrixOptions, dict(marker.kwargs), "chaos_matrix")
    if options.faults:
        return list(options.faults)
    if options.experiment is not None:
        path = Path(options.experiment)
        if not path.is_absolute() and not path.exists():
            path = Path(str(metafunc.definition.path)).parent / path
        return list(_load(path, f"@pytest.mark.chaos_matrix(experiment={options.experiment!r})").faults)
    if args == ["s3_errors"]:
        return [s3_outage(options.region, kind) for kind in S3_ERROR_KINDS]
    if args and all(isinstance(arg, Fault) for arg in args):
        return args
    _misuse("@pytest.mark.chaos_matrix takes 's3_errors', faults, faults=[...] or experiment='file.yaml'")


def _id(fault: Fault) -> str:
    return fault.label.replace(" ", "-")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("chaos_matrix")
    if marker is None:
        return
    faults = _matrix(metafunc, marker)
    if "chaos_fault" not in metafunc.fixturenames:
        metafunc.fixturenames.append("chaos_fault")
    metafunc.parametrize("chaos_fault", faults, ids=[_id(fault) for fault in faults], indirect=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test marked chaos or chaos_matrix gets the fixture that arms the faults, asked for or not.
    for item in items:
        names = getattr(item, "fixturenames", None)
        marked = item.get_closest_marker("chaos") or item.get_closest_marker("chaos_matrix")
        if names is not None and marked is not None and "chaos" not in names:
            names.append("chaos")
