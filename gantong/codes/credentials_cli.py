"""`flask gantong credentials ...`: international certificates' trust lists and conformance."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import AppGroup

from gantong.codes import intl_trust
from gantong.core import intl_conformance

credentials_cli = AppGroup(
    "credentials", help="International certificates (EU DCC, SMART Health Cards)."
)

_SHC_EXAMPLE = re.compile(r"(example-\d+)-")


def _dcc_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(path.glob("**/2DCode/raw/*.json"))
    return [path] if path.suffix == ".json" and not path.name.startswith("example-") else []


def _shc_examples(path: Path) -> list[tuple[Path, list[Path]]]:
    """(the example's JWS file, its numeric QR contents) for each SHC example under path."""
    jws_files = (
        sorted(path.glob("**/example-*-d-jws.txt"))
        if path.is_dir()
        else [path]
        if path.name.endswith("-d-jws.txt")
        else []
    )
    examples = []
    for jws in jws_files:
        stem = _SHC_EXAMPLE.match(jws.name).group(1)
        numeric = sorted(jws.parent.glob(f"{stem}-f-qr-code-numeric-value-*.txt"))
        examples.append((jws, numeric))
    return examples


def _issuer_for(jws: Path, jwks_option: str | None):
    """The example issuer's keys and revocation lists: --jwks, or issuer/.well-known beside."""
    jwks_path = Path(jwks_option) if jwks_option else jws.parent / "issuer/.well-known/jwks.json"
    jwks = json.loads(jwks_path.read_text(encoding="utf-8"))
    crls = {}
    for crl_path in jwks_path.parent.glob("crl/*.json"):
        crl = json.loads(crl_path.read_text(encoding="utf-8"))
        crls[crl.get("kid", crl_path.stem)] = crl
    return intl_conformance.shc_trusted_keys(jwks, crls, "example issuer")


@credentials_cli.command("conformance")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--known-issues",
    type=click.Path(exists=True, dir_okay=False),
    help="dgc-testdata's tests/known_issues.csv (default: found beside a dgc-testdata folder).",
)
@click.option("--jwks", help="The SMART Health Cards examples' issuer JWKS.")
def conformance(paths, known_issues, jwks) -> None:
    """Print one JSON line per test file: the flags computed, the expected ones, agreement.

    dgc-testdata files are checked against their own signer certificate at their own
    validation clock; SMART Health Cards examples against the example issuer's keys.
    A last line sums up; the exit status is 1 when a file disagrees (known issues aside).
    """
    totals = {"files": 0, "agree": 0, "disagree": 0, "known_issue_files": 0}
    for name in paths:
        path = Path(name)
        known_path = Path(known_issues) if known_issues else path / "tests/known_issues.csv"
        known = intl_conformance.load_known_issues(known_path) if known_path.is_file() else []
        for file in _dcc_files(path):
            _count(totals, intl_conformance.dcc_file_report(file, known))
        for jws, numeric in _shc_examples(path):
            keys = _issuer_for(jws, jwks)
            # An SHC carries no validation clock: check it when it is read, now.
            _count(totals, intl_conformance.shc_example_report(jws, numeric, keys, _now()))
    click.echo(json.dumps({"summary": totals}))
    if totals["disagree"]:
        raise SystemExit(1)


def _now() -> datetime:
    return datetime.now(UTC)


def _count(totals: dict, report: dict) -> None:
    click.echo(json.dumps(report, ensure_ascii=False, sort_keys=True))
    totals["files"] += 1
    totals["agree" if report.get("agree") else "disagree"] += 1
    if report.get("known_issue"):
        totals["known_issue_files"] += 1


@credentials_cli.command("import-dsc")
@click.argument("file", type=click.File("rb"))
def import_dsc(file) -> None:
    """Import EU DCC signer certificates from a trust-list file in the gateway's format."""
    try:
        result = intl_trust.import_dsc_file(file.read(), actor=None)
    except intl_trust.TrustError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"added {len(result.added)}, already listed {len(result.unchanged)}, "
        f"refused {len(result.refused)}"
    )
    for kid, reason in result.refused:
        click.echo(f"refused {kid}: {reason}")


@credentials_cli.command("add-shc-issuer")
@click.argument("iss")
@click.option("--name", required=True)
@click.option("--jwks", "jwks_file", type=click.File("r"), help="Its JWKS, instead of fetching.")
def add_shc_issuer(iss, name, jwks_file) -> None:
    """Trust a SMART Health Card issuer; its keys are fetched from ISS/.well-known/jwks.json."""
    try:
        issuer = intl_trust.add_shc_issuer(
            iss, name, actor=None, jwks_text=jwks_file.read() if jwks_file else ""
        )
    except intl_trust.TrustError as error:
        raise click.ClickException(str(error) % {"detail": error.detail}) from error
    click.echo(f"issuer {issuer.id}: {issuer.iss}")


@credentials_cli.command("refresh-shc")
def refresh_shc() -> None:
    """Fetch every active SHC issuer's keys and revocation lists again (for cron)."""
    for issuer in intl_trust.list_shc_issuers():
        if issuer.active:
            ok = intl_trust.refresh_shc_issuer(issuer, actor=None)
            click.echo(f"{issuer.iss}: {'refreshed' if ok else issuer.fetch_error}")
