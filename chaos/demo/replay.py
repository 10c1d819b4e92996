"""The bundled demo: the 2017 S3 outage replayed against the naive and the resilient demo service.

Both variants run the same experiment (``experiments/s3-us-east-1-2017.yaml``) on embedded moto
through the outage gateway; the verdicts are shown side by side.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from chaos.exits import VERDICTS
from chaos.journal import read_journal
from chaos.loading import load_experiment
from chaos.model import Experiment
from chaos.report import write_reports
from chaos.runner import Runner, RunResult
from chaos.verify.progress import PlainProgress, console_for

__all__ = ["REPLAY", "run_replay_demo"]

REPLAY = Path(__file__).resolve().parents[2] / "experiments" / "s3-us-east-1-2017.yaml"


def _variant(experiment: Experiment, variant: str) -> Experiment:
    assert experiment.app is not None and experiment.app.command is not None
    command = tuple("naive" if word == "resilient" else word for word in experiment.app.command)
    if variant == "resilient":
        command = tuple(experiment.app.command)
    return experiment.model_copy(update={"app": experiment.app.model_copy(update={"command": command})})


def _shown(name: str, measured: object) -> str:
    """A measured value with its unit, for the table."""
    if measured is None:
        return "(no value)"
    if isinstance(measured, float) and name == "availability":
        return f"{measured:.1%}"
    if isinstance(measured, float) and (name.startswith("latency") or name == "recovery"):
        return f"{measured * 1000:.0f} ms" if measured < 1 else f"{measured:.1f} s"
    if isinstance(measured, float) and name == "retry_amplification":
        return f"{measured:.2f}x"
    if isinstance(measured, int) and name in ("graceful_errors", "durability"):
        return f"{measured} {'ungraceful answers' if name == 'graceful_errors' else 'writes lost'}"
    return str(measured)


def run_replay_demo(console: Console | None = None, journal_dir: Path = Path(".chaos") / "runs") -> bool:
    """Run the replay against both variants; True when naive fails and resilient passes."""
    console = console or console_for()
    if not REPLAY.exists():
        console.print(f"[red]the catalogue is not here ({REPLAY}); run the demo from a source checkout[/]")
        return False
    experiment = load_experiment(REPLAY)
    console.rule("[bold]S3 us-east-1, 2017-02-28, replayed (time-compressed)")
    console.print(
        "S3 in us-east-1 answers 503 to everything for 8 s; reads come back, writes stay down until 12 s.\n"
        "The same load (20 requests/s, 3 reads to 1 write) goes to two versions of one document service:\n"
        "  [bold]naive[/]      one bucket in us-east-1, writes acknowledged then uploaded in the background\n"
        "  [bold]resilient[/]  replica in eu-west-1, durable write spool, retry budget, circuit breaker,"
        " honest /health\n"
    )
    results: dict[str, RunResult] = {}
    for variant in ("naive", "resilient"):
        console.print(f"[bold]Running against the {variant} variant…[/]")
        runner = Runner(
            _variant(experiment, variant),
            source=f"{REPLAY.name} ({variant})",
            journal_path=journal_dir / f"demo-{variant}.json",
            progress=PlainProgress(every=10.0),
        )
        results[variant] = runner.run()
    table = Table(title="Did it degrade gracefully?", title_justify="left")
    table.add_column("check")
    for variant in results:
        table.add_column(variant)
    names = list(dict.fromkeys(check.name for result in results.values() for check in result.checks))
    for name in names:
        cells = []
        for result in results.values():
            check = next((c for c in result.checks if c.name == name), None)
            if check is None:
                cells.append("-")
            else:
                mark = "[green]PASS[/]" if check.passed else "[red]FAIL[/]"
                cells.append(f"{mark} {_shown(name, check.measured)}")
        table.add_row(name, *cells)
    verdicts = []
    for result in results.values():
        colour = {"passed": "green", "failed": "red"}.get(result.status, "yellow")
        verdicts.append(f"[bold {colour}]{VERDICTS.get(result.status, result.status.upper())}[/]")
    table.add_row("[bold]verdict[/]", *verdicts)
    console.print()
    console.print(table)
    for variant, result in results.items():
        reports = write_reports(read_journal(result.journal_path), journal_dir / f"demo-{variant}")
        html = next(path for path in reports if path.suffix == ".html")
        verdict = VERDICTS.get(result.status, result.status.upper())
        if result.status == "failed":
            verdict += f" ({', '.join(result.failed_checks)} failed)"
        elif result.status != "passed":
            verdict += f" ({result.reason})"
        console.print(f"{variant}: {escape(verdict)}", highlight=False)
        console.print(f"  report {html}  (journal {result.journal_path})", markup=False, highlight=False)
    return results["naive"].status == "failed" and results["resilient"].status == "passed"
