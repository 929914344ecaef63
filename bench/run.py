"""``make bench``: each scenario beside its floor (the same job written by hand) and, where
they exist, its peers (other packages doing the same job), measured in the same run on the
same PostgreSQL data. Prints one table of ratios and peak Python memory. Not part of
``make test``: speed lives here, not in timed tests.

Data are generated once with ``generate_series`` (seconds, not minutes) into the database
``petmail_bench`` and reused; ``--fresh`` rebuilds them. ``--scale 0.1`` runs a tenth of
the size (what CI-sized machines can afford in a smoke run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "example_project"), str(ROOT / "src"), str(ROOT)]
BENCH_DB = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/petmail_bench")


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_DB
    # The example clinic plus the peers' apps (bench/settings.py).
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("PETMAIL_OWNER_MODEL", "auth.User")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@dataclass
class Measure:
    seconds: float
    peak_bytes: int
    result: Any


def measure(
    fn: Callable[[], Any], repeat: int = 3, setup: Callable[[], Any] | None = None
) -> Measure:
    """Median wall time of ``repeat`` runs after one warm-up, then the peak traced memory of
    one more run. Timing and tracing are separate runs: tracemalloc slows allocation-heavy
    code several-fold and would skew every ratio. ``setup`` runs, untimed, before each run."""
    setup = setup or (lambda: None)
    setup()
    fn()
    times, result = [], None
    for _ in range(repeat):
        setup()
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    setup()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return Measure(statistics.median(times), peak, result)


@dataclass
class Peer:
    """Another package doing the scenario's job; ``goal`` is the least peer ÷ ours allowed."""

    name: str
    measure: Measure
    goal: str


@dataclass
class Row:
    scenario: str
    subject: Measure
    floor: Measure
    goal: str
    peers: list[Peer] = field(default_factory=list)


def render(rows: list[Row]) -> str:
    head = f"{'scenario':<52} {'ours':>9} {'floor':>9} {'×floor':>7} {'goal':>10} {'peak MiB':>9}"
    lines = [head, "-" * len(head)]
    for row in rows:
        ratio = row.subject.seconds / row.floor.seconds if row.floor.seconds else float("inf")
        lines.append(
            f"{row.scenario:<52} {row.subject.seconds * 1000:>7.0f}ms "
            f"{row.floor.seconds * 1000:>7.0f}ms {ratio:>6.2f}× {row.goal:>10} "
            f"{row.subject.peak_bytes / 2**20:>9.1f}"
        )
        for peer in row.peers:
            peer_ratio = peer.measure.seconds / row.subject.seconds
            lines.append(
                f"{'  peer: ' + peer.name:<52} {peer.measure.seconds * 1000:>7.0f}ms "
                f"{'':>9} {'':>7} {peer.goal:>10} {peer.measure.peak_bytes / 2**20:>9.1f}"
                f"   peer/ours {peer_ratio:.2f}×"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fresh", action="store_true", help="rebuild the benchmark data")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="fraction of the full size (1.0 = 1,000,000 subscriptions)",
    )
    parser.add_argument("--only", help="run only scenarios whose name contains this text")
    args = parser.parse_args()
    if not 0 < args.scale <= 5:
        parser.error("--scale must be in (0, 5]")

    ensure_database(BENCH_DB)
    setup_django()
    from bench import data, scenarios

    started = time.perf_counter()
    info = data.ensure(scale=args.scale, fresh=args.fresh)
    print(f"data: {info} (ready in {time.perf_counter() - started:.1f}s)", flush=True)
    rows: list[Row] = []
    for scenario in scenarios.ALL:
        if args.only and args.only not in scenario.__name__:
            continue
        rows.extend(scenario(info))
    print()
    print(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
