"""`thrv link`: the same people across partners; `thrv reidentify`: a vault holder's look-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from thrv.cli._app import DbOption, app, console, err, open_store, report_written
from thrv.store.database import DEFAULT_DB

VaultOption = Annotated[
    Path | None, typer.Option(help="Identifier vault (default: DB.vault.duckdb beside the store).")
]
KeysOption = Annotated[
    Path | None,
    typer.Option("--keys", help="Key file (TOML); else THRV_PROJECT_KEY/THRV_VAULT_KEY or THRV_KEY_FILE, else DB.keys.toml."),
]


@app.command()
def link(
    db: DbOption = Path(DEFAULT_DB),
    out: Annotated[Path, typer.Option(help="Folder for people.csv, links.csv, review.csv, model.json, link.html.")] = Path("link"),
    threshold: Annotated[
        float | None,
        typer.Option(help="Match probability at or above which two records are one person (default 0.9; with --method bloom, the Dice coefficient, default 0.8)."),
    ] = None,
    vault: VaultOption = None,
    keys: KeysOption = None,
    method: Annotated[
        str, typer.Option(help="splink (identifiers compared in the vault) or bloom (Bloom-filter keys only).")
    ] = "splink",
    config: Annotated[Path | None, typer.Option(help="Linkage settings (TOML; default: the shipped linkage.toml).")] = None,
    sharing: Annotated[
        Path | None, typer.Option(help="Sharing agreement (TOML; default DB.sharing.toml when present) for insight.html.")
    ] = None,
) -> None:
    """Link every partner's person records, across partners and within each (duplicates).

    Writes DIR/people.csv (partner, record_id, person_id), DIR/links.csv (pairs at or above
    the threshold with their match probability), the clerical-review queue, the model as
    JSON and DIR/link.html (weights and explained pairs). Only keyed pseudonyms reach the
    store; the output folder holds record ids, so keep it with the vault.

    Example: `thrv link --db force.duckdb --out link/ --threshold 0.95`
    """
    from thrv.linkage.keys import KeysError, load_keys
    from thrv.linkage.run import run_link
    from thrv.linkage.settings import load_config
    from thrv.linkage.sharing import SharingError, load_agreement, sharing_path_for
    from thrv.store.vault import Vault, VaultError, vault_path_for

    if method not in {"splink", "bloom"}:
        err.print("[red]error:[/red] --method must be splink or bloom")
        raise typer.Exit(2)
    try:
        if method == "bloom":  # --threshold is then the Dice coefficient of a link
            settings = load_config(config, bloom_dice=threshold)
        else:
            settings = load_config(config, threshold=threshold)
        agreement_file = sharing or sharing_path_for(db)
        agreement = load_agreement(agreement_file) if agreement_file.exists() else None
        secrets = load_keys(db, keys)
        vault_file = vault or vault_path_for(db)
        with open_store(db) as store, Vault(vault_file, secrets, read_only=False) as opened:
            if not opened.counts():
                err.print(f"[red]error:[/red] {vault_file}: no person records; "
                          f"run `thrv ingest PEOPLE.csv --db {db} --partner NAME` first")
                raise typer.Exit(2)
            run = run_link(store, opened, out, settings, method=method, agreement=agreement)
    except (KeysError, VaultError, SharingError, ValueError, OSError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    partners = ", ".join(f"{p} {n:,}" for p, n in run.partners.items())
    console.print(f"{run.records:,} records ({partners}): {run.links:,} links, {run.people:,} people, "
                  f"{run.review:,} pairs for clerical review")
    report_written(run.files)


@app.command()
def reidentify(
    record_key: Annotated[str, typer.Argument(help="A record key from the store or a partner's view.")],
    who: Annotated[str, typer.Option(help="Your name, for the vault's access log.")],
    reason: Annotated[str, typer.Option(help="Why you need the identifiers (logged).")],
    db: DbOption = Path(DEFAULT_DB),
    vault: VaultOption = None,
    keys: KeysOption = None,
) -> None:
    """Open one record's identifiers from the vault (vault key holders only; every request is logged).

    Example: `thrv reidentify 3f2a... --who "J Smith" --reason "safeguarding referral 123" --db force.duckdb`
    """
    from thrv.linkage.keys import KeysError, load_keys
    from thrv.store.vault import Vault, VaultError, vault_path_for

    try:
        with Vault(vault or vault_path_for(db), load_keys(db, keys)) as opened:
            record = opened.reidentify(record_key, who, reason)
    except (KeysError, VaultError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    for key, value in record.items():
        console.print(f"{key}: {value}", highlight=False, markup=False)


@app.command("simulate-people")
def simulate_people(
    out: Annotated[Path, typer.Option(help="Folder for one person CSV per partner and truth.csv.")] = Path("people"),
    people: Annotated[int, typer.Option(help="People in the generated population.")] = 2000,
    partners: Annotated[str, typer.Option(help="Partners and the share of people each holds, e.g. police=0.6,council=0.5.")]
    = "police=0.6,council=0.5,health=0.4",
    identifier: Annotated[str, typer.Option(help="Comma-separated partners whose records carry a shared identifier.")] = "health",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
) -> None:
    """Write generated partner person extracts with realistic errors, and the truth (for trying `thrv link`).

    Every record id starts GEN- and truth.csv says which records are one person; the
    error rates are in thrv/data/config/person_errors.toml.

    Example: `thrv simulate-people --out people/ --people 2000 --seed 1`
    """
    from thrv.linkage.generate import extracts

    try:
        shares = {p.split("=")[0].strip(): float(p.split("=")[1]) for p in partners.split(",") if p.strip()}
    except (IndexError, ValueError) as exc:
        err.print("[red]error:[/red] --partners must look like police=0.6,council=0.5")
        raise typer.Exit(2) from exc
    made = extracts(people, shares, seed=seed, shares_identifier=tuple(i.strip() for i in identifier.split(",") if i))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for partner, frame in made.records.items():
        path = out / f"{partner}.csv"
        frame.to_csv(path, index=False)
        written.append(path)
    truth = out / "truth.csv"
    made.truth.to_csv(truth, index=False)
    console.print(f"generated {sum(len(f) for f in made.records.values()):,} records of {people:,} people "
                  f"(labelled generated: record ids GEN-...)")
    report_written([*written, truth])
