"""mkdocs hook: the manual's generated parts, made when it is built.

- The reference pages, from the code.
- The pictures of reports in reports.md, from real runs: the catalogue's 2017 S3 experiment,
  shortened, against the naive and the resilient demo application (in-process: moto and the hook
  injector, no server to start), each report rendered by headless Chromium. The reports and their
  pictures are added to the built site (``demo-reports/``); nothing is written into ``docs/``.

Chromium is required, as it is for the tests: without it the build fails and says how to get it
(a manual whose pictures silently went missing would be a manual that lies). The runs take about
fifteen seconds; their results are kept in the temporary directory under a hash of the sources
that make them, so ``mkdocs serve`` and a second build reuse them until the code changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from chaos.reference import cli_reference, schema_reference

MARKERS = {"<!-- generated: cli -->": cli_reference, "<!-- generated: schema -->": schema_reference}
ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "experiments" / "s3-us-east-1-2017.yaml"
#: The demo variant of each picture, and the exit code its run must end with (graceful, not graceful).
VARIANTS = {"resilient": 0, "naive": 1}
#: Browser window of a picture: wide enough for the report's 960 px, tall enough for its longest part.
WINDOW = (1000, 2400)


def on_page_markdown(markdown: str, **_: Any) -> str:
    for marker, generate in MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, generate())
    return markdown


def on_files(files: Files, config: Any, **_: Any) -> Files:
    """Add the demo reports and their pictures to the site."""
    for name, content in demo_reports().items():
        files.append(File.generated(config, f"demo-reports/{name}", content=content))
    return files


def chromium() -> str:
    """The Chromium (or Chrome) to render with: $CHROMIUM, else the first on PATH."""
    found = os.environ.get("CHROMIUM") or next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None
    )
    if not found:
        raise PluginError(
            "the pictures of reports in docs/reports.md are rendered from real runs by headless Chromium, and no "
            "Chromium was found: install it (Debian and Ubuntu: apt-get install chromium) or set CHROMIUM to its path"
        )
    return found


def experiment(variant: str) -> str:
    """The catalogue's 2017 experiment, shortened (baseline 2 s, faults 4 s + 2 s, recovery 4 s), in-process."""
    data = yaml.safe_load(CATALOGUE.read_text())
    data["description"] = (
        f"The catalogue's replay of 2017-02-28, shortened, against the {variant} demo application: "
        "run by the documentation build to draw this picture."
    )
    data["app"] = {"wsgi": f"chaos.demo.wsgi:{variant}", "url": "http://127.0.0.1:{port}", "ready": "/health"}
    data["phases"] = {"baseline": "2s", "recovery": "4s"}
    everything, writes = data["faults"]
    everything["for"] = "4s"
    writes["after"], writes["for"] = "4s", "2s"
    return yaml.safe_dump(data, sort_keys=False)


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted([*(ROOT / "chaos").rglob("*.py"), CATALOGUE, Path(__file__)]):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


#: The parts of a report that are pictured: where each starts and ends in the page.
PARTS = {
    "": ("<body>", "<h2>Timeline</h2>"),  # the verdict, the banners, the checks
    "-timeline": ("<svg", "</svg>"),
    "-details": ("<h2>Faults and the AWS calls", '<details class="experiment">'),  # faults, load, output, rollback
}
#: The parts reports.md shows of each variant.
PICTURES = {"naive": ("", "-timeline", "-details"), "resilient": ("", "-timeline")}


def demo_reports(cache: Path | None = None) -> dict[str, bytes]:
    """Each demo variant's report (``{variant}.html``) and pictures of its parts (``{variant}[-part].png``),
    from real runs; cached under a hash of the sources."""
    browser = chromium()
    folder = cache or Path(tempfile.gettempdir()) / f"chaos-outage-docs-{_fingerprint()}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    names = [f"{variant}.html" for variant in VARIANTS]
    names += [f"{variant}{part}.png" for variant, parts in PICTURES.items() for part in parts]
    if not all((folder / name).is_file() for name in names):
        work = Path(tempfile.mkdtemp(prefix="chaos-outage-docs-"))
        try:
            _run(work)
            for variant in VARIANTS:
                page = (work / variant / "report.html").read_text()
                (work / f"{variant}.html").write_text(page)
                for part in PICTURES[variant]:
                    _picture(browser, _part(page, *PARTS[part]), work / f"{variant}{part}.png")
            staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder.parent))
            for name in names:
                shutil.copyfile(work / name, staging / name)
            try:
                staging.rename(folder)  # at once: a build running beside this one never reads half of it
            except OSError:  # that other build got there first
                shutil.rmtree(staging, ignore_errors=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return {name: (folder / name).read_bytes() for name in names}


def _part(page: str, start: str, end: str) -> str:
    """The report's head and style with only the part of its body from ``start`` up to ``end``."""
    try:
        head = page[: page.index("<body>")]
        begin = page.index(start)
        stop = page.index(end, begin) + (len(end) if end == "</svg>" else 0)
    except ValueError as exc:
        raise PluginError(f"the report no longer has {start!r} ... {end!r}: update PARTS in docs/hooks.py") from exc
    body = page[begin:stop].removeprefix("<body>")
    return f"{head}<body>{body}</body></html>"


def _run(work: Path) -> None:
    """Both runs at once, each in its own process (the hook patches botocore in the process it runs in)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    runs = {}
    for variant in VARIANTS:
        (work / f"{variant}.yaml").write_text(experiment(variant))
        command = [sys.executable, "-m", "chaos", "run", f"{variant}.yaml", "--journal", f"{variant}.json"]
        runs[variant] = subprocess.Popen(
            [*command, "--report", variant],
            cwd=work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    for variant, process in runs.items():
        output, _ = process.communicate(timeout=300)
        if process.returncode != VARIANTS[variant]:
            raise PluginError(
                f"the {variant} demo run for docs/reports.md ended with exit code {process.returncode}, "
                f"not {VARIANTS[variant]}:\n{output[-3000:]}"
            )


def _picture(browser: str, page: str, picture: Path) -> None:
    """A screenshot of ``page``, its blank bottom trimmed."""
    from PIL import Image, ImageChops  # noqa: PLC0415 - the dev extras have it, as mkdocs comes from them

    profile = Path(tempfile.mkdtemp(prefix="chaos-outage-chromium-"))
    source = profile / "page.html"
    source.write_text(page)
    try:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile / 'profile'}",
                f"--screenshot={picture}",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                source.as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )
        with Image.open(picture) as shot:
            image = shot.convert("RGB")
    except (OSError, subprocess.SubprocessError) as exc:
        raise PluginError(f"Chromium ({browser}) could not render a picture of a report: {exc}") from exc
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    box = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
    if box is None:
        raise PluginError(f"Chromium ({browser}) rendered a blank picture of a report")
    image.crop((0, max(0, box[1] - 16), image.width, min(image.height, box[3] + 16))).save(picture, optimize=True)
