"""`bestnext simulate` and `bestnext evaluate`: the proof that bestnext learns."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from bestnext.decisions.learning import services
from bestnext.decisions.learning.simulation.runner import POLICY_NAMES, SimConfig
from bestnext.errors import BestnextError

# own consoles: importing bestnext.cli.common here would import the root CLI that mounts us
console = Console(width=max(Console().width, 110))  # tables stay readable when piped
err_console = Console(stderr=True, soft_wrap=True)  # "file:line: field: message" stays on one line


def print_json(value: Any) -> None:
    typer.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode())


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except BestnextError as exc:
        err_console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(1) from None


def simulate(
    persons: int = typer.Option(5000, help="Size of the synthetic population."),
    days: int = typer.Option(60, help="Days to simulate."),
    seed: int = typer.Option(0, help="Seed of the world and of every policy."),
    policies: str = typer.Option(",".join(POLICY_NAMES), help="Comma-separated policies to compare."),
    visit_rate: float = typer.Option(0.3, help="Share of persons with a decision moment each day."),
    budget: int = typer.Option(3, help="Marketing contacts per person per rolling 7 days."),
    ope: bool = typer.Option(False, "--ope", help="Also validate off-policy estimates on bestnext's logs."),
    logs_out: Path | None = typer.Option(None, "--logs-out", help="Write bestnext's logged decisions (JSON lines)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Compare oracle, random, static rules, Vowpal Wabbit and bestnext on a synthetic bank."""
    config = SimConfig(persons=persons, days=days, seed=seed, visit_rate=visit_rate, budget=budget)
    with _errors():
        result = services.run_simulation(config, [p.strip() for p in policies.split(",") if p.strip()],
                                         ope=ope, logs_out=logs_out)
    if as_json:
        print_json(result)
        return
    console.print(_policy_table(result))
    for row in result.get("ope", []):
        console.print(_ope_table(row))
        for warning in row["warnings"]:
            console.print(f"[yellow]warning:[/yellow] {warning}")


def evaluate(
    policy: str = typer.Argument(..., help="Target policy: uniform or static."),
    logs: Path = typer.Option(..., "--logs", help="Logged decisions: .jsonl (ours) or .csv (Open Bandit)."),
    seed: int = typer.Option(0, help="Seed of the bootstrap and the cross-fitting folds."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Estimate a policy's mean reward from another policy's logs (IPS, SNIPS, doubly robust)."""
    with _errors():
        result = services.evaluate_file(policy, logs, seed)
    if as_json:
        print_json(result)
    else:
        console.print(_ope_table(result))
        for warning in result["warnings"]:
            console.print(f"[yellow]warning:[/yellow] {warning}")


def _policy_table(result: dict[str, Any]) -> Table:
    c = result["config"]
    table = Table(title=f"simulation: {c['persons']} persons, {c['days']} days, seed {c['seed']}")
    for col in ("policy", "decisions", "reward", "% oracle", "regret", "rate", "contacts/mo", "s"):
        table.add_column(col, justify="left" if col == "policy" else "right", no_wrap=True)
    for p in result["policies"]:
        table.add_row(p["policy"], str(p["decisions"]), str(p["conversions"]),
                      f"{p.get('pct_of_oracle', float('nan')):.1f}", f"{p['regret']:.0f}",
                      f"{p['conversion_rate']:.3f}", f"{p['contacts_per_person_month']:.2f}",
                      f"{p['seconds']:.1f}")
    return table


def _ope_table(row: dict[str, Any]) -> Table:
    title = f"off-policy estimate of '{row.get('target', row.get('policy'))}'"
    if "truth_on_logged_contexts" in row:
        title += f" from {row['logged_by']}'s logs; truth {row['truth_on_logged_contexts']:.5f}"
    table = Table(title=title, title_justify="left", caption=f"n={row['n']}, logged value {row['logged_value']:.5f}, "
                  f"effective sample size {row['effective_sample_size']}")
    for col in ("estimator", "estimate", "std. error", "95% CI (normal)", "95% CI (bootstrap)"):
        table.add_column(col, justify="left" if col == "estimator" else "right")
    for name, e in row["estimates"].items():
        table.add_row(name.upper(), f"{e['value']:.5f}", f"{e['se']:.5f}",
                      f"[{e['ci_low']:.5f}, {e['ci_high']:.5f}]", f"[{e['boot_low']:.5f}, {e['boot_high']:.5f}]")
    return table


def register(app: typer.Typer) -> None:
    """Mount the commands on the root CLI."""
    app.command("simulate")(simulate)
    app.command("evaluate")(evaluate)
