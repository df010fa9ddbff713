"""`make bench`: the status question through gunicorn on PostgreSQL, next to bare Flask.

Parts (`--parts`, default `load,profile`; `--scale` adds `scale`):
  load     bare Flask and Ofpra Connect under the same gunicorn settings, measured in turn by
           wrk, several passes; requests/s, p50, p99 and the ratio; every answer checked journaled.
  profile  the same question in-process: microseconds per request and where they go (cProfile).
  scale    the same load at 10,000 people and at 1,000,000 people with 10,000,000 journal rows,
           interleaved; the cost per request of each and their ratio (target <= 1.2).

See bench/README.md for what is measured and the latest figures.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import auth
import database
import hotpath
import loadgen
import server

from app.oauth import keys as oauth_keys

BARE_DIR = Path(__file__).resolve().parent
SMALL_DB = "ofpra_bench"
SCALE_DB = "ofpra_bench_scale"
SCOPE = "protection_status"
PARTNER = auth.Partner("bench")


@dataclass
class Target:
    """One Ofpra Connect deployment under test: its database, its server, its issuer."""

    name: str
    db_url: str
    people: int
    port: int = 0
    env: dict[str, str] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk pass (10)")
    parser.add_argument("--passes", type=int, default=3, help="passes per target; medians (3)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (2)")
    parser.add_argument("--people", type=int, default=10_000, help="people loaded (10,000)")
    parser.add_argument("--parts", default="load,profile",
                        help="comma-separated among load, profile, scale (load,profile)")
    parser.add_argument("--scale", action="store_true",
                        help="also run the scale part (1M people, 10M journal rows; minutes)")
    parser.add_argument("--scale-people", type=int, default=1_000_000)
    parser.add_argument("--scale-journal", type=int, default=10_000_000)
    parser.add_argument("--profile-requests", type=int, default=2000)
    parser.add_argument("--postgres", default=os.environ.get(
        "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="a database on the server to create the benchmark's databases on")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    args = parser.parse_args()
    args.parts = {part.strip() for part in args.parts.split(",") if part.strip()}
    if args.scale:
        args.parts.add("scale")
    unknown = args.parts - {"load", "profile", "scale"}
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    return args


def app_env(instance: Path, db_url: str, port: int, secrets_: dict[str, str]) -> dict[str, str]:
    return {
        "DATABASE_URL": db_url, "OFPRA_INSTANCE": str(instance),
        "KEYS_DIR": str(instance / "keys"), "OAUTH_ISSUER": f"http://127.0.0.1:{port}",
        "FLASK_APP": "wsgi:app", **secrets_,
    }


def prepare(target: Target, args: argparse.Namespace, instance: Path,
            secrets_: dict[str, str], *, journal: int = 0) -> None:
    print(f"database {target.name}: {target.people:,} people"
          + (f", {journal:,} journal entries" if journal else ""), flush=True)
    target.db_url = database.create(args.postgres, target.name)
    target.port = server.free_port()
    target.env = app_env(instance, target.db_url, target.port, secrets_)
    with database.timed("flask db upgrade"):
        database.migrate(target.env)
    with database.timed("COPY people"):
        database.load_people(target.db_url, target.people)
    with database.timed("flask partners add (rate limit lifted)"):
        PARTNER.register(database.FLASK, target.env, instance, scope=SCOPE,
                         recipient=database.RECIPIENT, rate_limit=0)
        # Other partners, so that a preloaded journal is not one partner's alone.
        for n in range(1, 4 if journal else 1):
            auth.Partner(f"partner-{n}").register(database.FLASK, target.env, instance,
                                                  scope=SCOPE, recipient=database.RECIPIENT,
                                                  rate_limit=None)
    if journal:
        with database.timed("COPY journal (indexes and foreign keys rebuilt after)"):
            database.load_journal(target.db_url, journal, target.people,
                                  database.partners(target.db_url))
    with database.timed("VACUUM ANALYZE"):
        database.vacuum_analyze(target.db_url)
    print(f"  size {database.size(target.db_url)}", flush=True)


def token_for(target: Target) -> str:
    """A fresh access token from the target's own token endpoint (tokens live 5 minutes)."""
    return PARTNER.access_token(target.issuer, SCOPE)


def load(port: int, token: str, people: int, args: argparse.Namespace,
         duration: float | None = None) -> loadgen.Result:
    return loadgen.run(port, token=token, first_number=database.FIRST_OFPRA_NUMBER,
                       people=people, recipient=database.RECIPIENT,
                       duration=duration or args.duration, connections=args.connections,
                       threads=args.threads)


class Checks:
    """Every answer a 200, every 200 journaled: failures are collected and make the exit 1."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def ofpra_pass(self, label: str, result: loadgen.Result, journaled: dict[str, int]) -> str:
        found = journaled.get("found", 0)
        others = {k: v for k, v in journaled.items() if k != "found"}
        if result.non_2xx or result.socket_errors:
            self.failures.append(f"{label}: {result.non_2xx} non-2xx answers, "
                                 f"{result.socket_errors} socket errors")
        if others:
            self.failures.append(f"{label}: unexpected journal outcomes {others}")
        # Requests still in flight when wrk stops are answered (and journaled) after it hung
        # up: the journal may hold up to `sent - ok` entries more than the 200s wrk saw.
        if not result.ok <= found <= result.sent:
            self.failures.append(f"{label}: {found} journaled for {result.ok} answers "
                                 f"({result.sent} sent)")
        return (f"journaled {found:,} for {result.ok:,} answers seen "
                f"(+{found - result.ok} answered after wrk stopped)")

    def bare_pass(self, label: str, result: loadgen.Result) -> None:
        if result.non_2xx or result.socket_errors:
            self.failures.append(f"{label}: {result.non_2xx} non-2xx answers, "
                                 f"{result.socket_errors} socket errors")


def row(label: str, rps: float, p50: float, p99: float, extra: str = "") -> str:
    return f"  {label:<36}{rps:>10,.0f}{p50:>10.2f}{p99:>10.2f}  {extra}"


HEADER = f"  {'':<36}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}"


def measure_ofpra(target: Target, args: argparse.Namespace, checks: Checks,
                  label: str) -> loadgen.Result:
    mark = database.journal_mark(target.db_url)
    result = load(target.port, token_for(target), target.people, args)
    time.sleep(0.5)  # let the workers finish what wrk left in flight
    note = checks.ofpra_pass(label, result, database.journal_since(target.db_url, mark))
    print(row(label, result.rps, result.p50_ms, result.p99_ms, note), flush=True)
    return result


def short(number: int) -> str:
    """1,000,000 as 1M, 10,000 as 10k."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if number >= size and number % (size // 10) == 0:
            return f"{number / size:g}{suffix}"
    return f"{number:,}"


def medians(results: list[loadgen.Result]) -> tuple[float, float, float]:
    return (statistics.median(r.rps for r in results),
            statistics.median(r.p50_ms for r in results),
            statistics.median(r.p99_ms for r in results))


def part_load(small: Target, instance: Path, args: argparse.Namespace, checks: Checks,
              logs: Path) -> None:
    print(f"\n== load: bare Flask vs Ofpra Connect, {args.workers} sync workers, wrk "
          f"{args.threads} thread(s) x {args.connections} connections, {args.duration:g} s "
          f"per pass, {args.passes} passes", flush=True)
    bare_port = server.free_port()
    with server.gunicorn("bare:create_app()", port=bare_port, workers=args.workers,
                         chdir=BARE_DIR, log=logs / "bare.log"), \
            server.gunicorn("wsgi:app", port=small.port, workers=args.workers, env=small.env,
                            log=logs / "ofpra.log"):
        # Warm-up: imports, connection pools, the partner directory, the token cache.
        load(bare_port, "-", small.people, args, duration=2)
        load(small.port, token_for(small), small.people, args, duration=2)
        print(HEADER)
        bare: list[loadgen.Result] = []
        ours: list[loadgen.Result] = []
        for n in range(1, args.passes + 1):
            result = load(bare_port, "-", small.people, args)
            checks.bare_pass(f"bare pass {n}", result)
            print(row(f"bare Flask, pass {n}", result.rps, result.p50_ms, result.p99_ms),
                  flush=True)
            bare.append(result)
            ours.append(measure_ofpra(small, args, checks, f"Ofpra Connect, pass {n}"))
    bare_rps, bare_p50, bare_p99 = medians(bare)
    our_rps, our_p50, our_p99 = medians(ours)
    per_pass = [o.rps / b.rps for b, o in zip(bare, ours, strict=True)]
    print("\n  medians")
    print(HEADER)
    print(row("bare Flask", bare_rps, bare_p50, bare_p99))
    print(row("Ofpra Connect", our_rps, our_p50, our_p99))
    print(f"\n  Ofpra Connect / bare Flask: {our_rps / bare_rps:.0%} of the requests/s "
          f"(ratio of the medians; per pass: {', '.join(f'{r:.0%}' for r in per_pass)}, "
          f"median {statistics.median(per_pass):.0%}; goal >= 50 %)", flush=True)


def part_profile(small: Target, instance: Path, args: argparse.Namespace) -> None:
    print(f"\n== profile: the status question in-process, {args.profile_requests:,} requests "
          "(Flask, the app and PostgreSQL; no HTTP server)", flush=True)
    for name, value in small.env.items():
        os.environ[name] = value
    from bare import create_app as create_bare

    from app import create_app

    app = create_app({"INSTANCE_PATH": str(instance), "LOG_LEVEL": "WARNING"})
    bare_app = create_bare()

    def post(path: str, form: bytes) -> tuple[int, bytes]:
        answer = app.test_client().post(path, data=form,
                                        content_type="application/x-www-form-urlencoded")
        return answer.status_code, answer.data

    token = PARTNER.access_token(small.issuer, SCOPE, post)
    count = args.profile_requests
    numbers = hotpath.numbers(database.FIRST_OFPRA_NUMBER, small.people, count)
    built = hotpath.environs([token] * count, numbers, database.RECIPIENT)
    hotpath.per_request_us(app, built[: min(200, count)])  # warm-up
    hotpath.per_request_us(bare_app, built[: min(200, count)])
    ours = [hotpath.per_request_us(app, built) for _ in range(3)]
    bare = [hotpath.per_request_us(bare_app, built) for _ in range(3)]
    our_wall, our_cpu = (statistics.median(t[i] for t in ours) for i in (0, 1))
    bare_wall, bare_cpu = (statistics.median(t[i] for t in bare) for i in (0, 1))
    print(f"  per request, medians of 3 x {count:,}:      wall      CPU (this process)")
    print(f"    bare Flask                        {bare_wall:>7.0f} us {bare_cpu:>7.0f} us")
    print(f"    Ofpra Connect                     {our_wall:>7.0f} us {our_cpu:>7.0f} us")
    stats = hotpath.profile(app, built)
    total = stats.total_tt  # type: ignore[attr-defined]
    print(f"\n  cProfile, own time by package ({total / count * 1e6:.0f} us per request "
          f"under the profiler; {hotpath.round_trips(stats, count):.1f} round trips to "
          "PostgreSQL per request)")
    for group, seconds in hotpath.by_group(stats)[:18]:
        print(f"    {group:<48}{seconds / count * 1e6:>8.1f} us  {seconds / total:>6.1%}")
    print("\n  top functions by own time")
    print("    " + hotpath.top_functions(stats, "tottime", 20).replace("\n", "\n    "))
    print("\n  top functions by cumulative time")
    print("    " + hotpath.top_functions(stats, "cumulative", 30).replace("\n", "\n    "))
    app.extensions["ofpra.db"].engine.dispose()


def part_scale(small: Target, instance: Path, args: argparse.Namespace, checks: Checks,
               secrets_: dict[str, str], logs: Path) -> None:
    print(f"\n== scale: {args.people:,} people vs {args.scale_people:,} people and "
          f"{args.scale_journal:,} journal entries", flush=True)
    big = Target(SCALE_DB, "", args.scale_people)
    try:
        prepare(big, args, instance, secrets_, journal=args.scale_journal)
        database.vacuum_analyze(small.db_url)
        with server.gunicorn("wsgi:app", port=small.port, workers=args.workers, env=small.env,
                             log=logs / "ofpra.log"), \
                server.gunicorn("wsgi:app", port=big.port, workers=args.workers, env=big.env,
                                log=logs / "ofpra-scale.log"):
            load(small.port, token_for(small), small.people, args, duration=2)
            load(big.port, token_for(big), big.people, args, duration=2)
            print(HEADER)
            smalls: list[loadgen.Result] = []
            bigs: list[loadgen.Result] = []
            big_label = f"{short(big.people)} people, {short(args.scale_journal)} entries"
            for n in range(1, args.passes + 1):
                # Alternate which goes first (ABBA), so that a drift in the machine's load
                # weighs on both sides alike.
                order = [(small, smalls, f"{short(small.people)} people"), (big, bigs, big_label)]
                for target, results, label in order if n % 2 else reversed(order):
                    results.append(measure_ofpra(target, args, checks, f"{label}, pass {n}"))
        small_rps, small_p50, _ = medians(smalls)
        big_rps, big_p50, _ = medians(bigs)
        # Passes n of both sides ran back to back: their ratio is the least disturbed by drift.
        paired = [s.rps / b.rps for s, b in zip(smalls, bigs, strict=True)]
        ratio = statistics.median(paired)
        print(f"\n  cost per request (1 / throughput, medians): {1e6 / small_rps:.0f} us at "
              f"{small.people:,} people, {1e6 / big_rps:.0f} us at {big.people:,} people and "
              f"{args.scale_journal:,} entries: {small_rps / big_rps:.2f}x")
        print(f"  per pass: {', '.join(f'{r:.2f}x' for r in paired)}; median {ratio:.2f}x "
              "(target <= 1.2x)")
        print(f"  p50 latency: {small_p50:.2f} ms vs {big_p50:.2f} ms: "
              f"{big_p50 / small_p50:.2f}x")
        if ratio > 1.2:
            print("  the scale target is NOT met in this run", flush=True)
    finally:
        if not args.keep:
            database.drop(args.postgres, big.name)


def main() -> int:
    args = parse_args()
    loadgen.ensure_wrk()
    checks = Checks()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ofpra-bench-") as tmp:
        instance = Path(tmp)
        logs = instance / "logs"
        logs.mkdir()
        # The access-token key exists before the workers start, or each would make its own.
        oauth_keys.KeyStore(instance / "keys", generate=True).signing_key("access-token")
        secrets_ = {"SECRET_KEY": secrets.token_urlsafe(48),
                    "PSEUDONYM_KEY": secrets.token_urlsafe(48)}
        small = Target(SMALL_DB, "", args.people)
        try:
            prepare(small, args, instance, secrets_)
            settings = database.durability(small.db_url)
            print("  durability: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
            if settings["synchronous_commit"] == "off" or settings["fsync"] == "off":
                checks.failures.append(f"commits are not durable on this server: {settings}")
            if "load" in args.parts:
                part_load(small, instance, args, checks, logs)
            if "scale" in args.parts:
                part_scale(small, instance, args, checks, secrets_, logs)
            if "profile" in args.parts:
                part_profile(small, instance, args)
        except Exception:
            for log in sorted(logs.glob("*.log")):
                print(f"--- {log.name}\n{log.read_text()[-3000:]}", file=sys.stderr)
            raise
        finally:
            if not args.keep:
                database.drop(args.postgres, small.name)
    print(f"\n{time.monotonic() - began:.0f} s in all")
    if checks.failures:
        print("FAILED:\n  " + "\n  ".join(checks.failures))
        return 1
    print("checks: no non-2xx answer, every answer journaled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
