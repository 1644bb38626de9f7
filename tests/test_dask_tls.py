"""Runs on a Dask cluster that speaks only TLS: the security settings given to sweep,
validate, calibrate and counterfactual (and on the command line) reach the client, and
a tls:// address without them is refused with an error that says what to give."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from deleverage.bench.sweep import short_scenario
from deleverage.calibration import CalibrationSpec, Parameter, calibrate, validate
from deleverage.cli import main
from deleverage.counterfactuals import counterfactual
from deleverage.scenario import Target, save_toml
from deleverage.scenarios import load_preset
from deleverage.sweeps import sweep

distributed = pytest.importorskip("distributed")
pytest.importorskip("cryptography")  # Security.temporary() makes its certificate with it

from distributed.security import Security  # noqa: E402

TINY = short_scenario(load_preset("default-hour"), steps=150, accounts=150)
SPACE = {"populations.speculators.params.max_leverage": [5.0, 20.0]}


@pytest.fixture(scope="module")
def tls() -> Iterator[tuple[str, Security]]:
    """(address, security) of a one-worker cluster that refuses plain connections."""
    security = Security.temporary()
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tls://",
        security=security,
        dashboard_address=None,
    ) as cluster:
        assert cluster.scheduler_address.startswith("tls://")
        yield cluster.scheduler_address, security


@pytest.fixture
def pem_files(tmp_path: Path, tls: tuple[str, Security]) -> dict[str, Path]:
    """The cluster's CA, certificate and key as PEM files, as a user would have them."""
    _, security = tls
    files = {
        "ca": security.tls_ca_file,
        "cert": security.tls_client_cert,
        "key": security.tls_client_key,
    }
    out = {}
    for name, text in files.items():
        out[name] = tmp_path / f"{name}.pem"
        out[name].write_text(text)
    return out


def test_sweep_over_tls_with_the_security_given(tls: tuple[str, Security]) -> None:
    address, security = tls
    reference = sweep(TINY, SPACE, seeds=2, seed=3, workers=1)
    table = sweep(TINY, SPACE, seeds=2, seed=3, executor=address, security=security)
    assert table["error"].isna().all()
    cols = [c for c in reference.columns if c != "wall_seconds"]
    assert table[cols].equals(reference[cols])


def test_security_given_as_paths(tls: tuple[str, Security], pem_files: dict[str, Path]) -> None:
    address, _ = tls
    paths = {
        "tls_ca_file": str(pem_files["ca"]),
        "tls_client_cert": str(pem_files["cert"]),
        "tls_client_key": str(pem_files["key"]),
    }
    table = sweep(TINY, SPACE, executor=address, security=paths)
    assert len(table) == 2
    assert table["error"].isna().all()


def test_a_tls_address_without_security_is_refused(tls: tuple[str, Security]) -> None:
    address, _ = tls
    with pytest.raises(ValueError, match=r"security: .*tls://.* needs TLS settings"):
        sweep(TINY, SPACE, executor=address)


def test_the_wrong_certificate_is_refused(tls: tuple[str, Security]) -> None:
    address, _ = tls
    with pytest.raises(ConnectionError, match=r"executor: cannot connect to the Dask scheduler"):
        sweep(TINY, SPACE, executor=address, security=Security.temporary())


def test_validate_calibrate_and_counterfactual_pass_the_security_on(
    tls: tuple[str, Security],
) -> None:
    address, security = tls
    world = TINY.replace(targets=(Target("run.max_drawdown", range=(0.0, 1.0)),))
    checked = validate(world, 2, executor=address, security=security)
    assert checked.errors == (None, None)
    assert checked.passed
    spec = CalibrationSpec(
        scenario=TINY.replace(targets=()),
        parameters=(Parameter("lev", "populations.speculators.params.max_leverage", 2.0, 20.0),),
        targets=(Target("run.max_drawdown", value=0.01),),
        seeds=(0, 1),
        trials=2,
        batch=2,
    )
    fitted = calibrate(spec, executor=address, security=security, progress=False)
    assert len(fitted.trials) == 2
    shares = counterfactual(
        TINY, ["leverage"], seeds=2, executor=address, security=security, confidence=None
    )
    assert len(shares.seeds) == 2
    for run in (
        lambda: validate(world, 1, executor=address),
        lambda: calibrate(spec, executor=address, progress=False),
        lambda: counterfactual(TINY, ["leverage"], seeds=1, executor=address, confidence=None),
    ):
        with pytest.raises(ValueError, match="security: "):
            run()


def test_security_without_a_dask_address_is_an_error() -> None:
    with pytest.raises(ValueError, match="security: only used to connect to a Dask scheduler"):
        sweep(TINY, SPACE, security=Security.temporary())


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    save_toml(TINY, tmp_path / "world.toml")
    spec = tmp_path / "tls.toml"
    spec.write_text(
        'scenario = "world.toml"\nseeds = 2\n[space.grid]\n'
        '"populations.speculators.params.max_leverage" = [5.0, 20.0]\n'
    )
    return spec


def _tls_flags(pem: dict[str, Path]) -> list[str]:
    return [
        "--dask-tls-ca-file",
        str(pem["ca"]),
        "--dask-tls-cert",
        str(pem["cert"]),
        "--dask-tls-key",
        str(pem["key"]),
    ]


def test_cli_sweep_over_tls(
    tls: tuple[str, Security],
    pem_files: dict[str, Path],
    spec_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    address, _ = tls
    argv = ["sweep", str(spec_file), "--dask", address, *_tls_flags(pem_files), "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["runs"], summary["failed"]) == (4, 0)
    assert main(["sweep", str(spec_file), "--dask", address, "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"--dask: {address!r} is a tls:// address" in err
    for flag in ("--dask-tls-ca-file", "--dask-tls-cert", "--dask-tls-key"):
        assert flag in err


def test_cli_validate_and_counterfactual_over_tls(
    tls: tuple[str, Security],
    pem_files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    address, _ = tls
    world = tmp_path / "checked.toml"
    save_toml(TINY.replace(targets=(Target("run.max_drawdown", range=(0.0, 1.0)),)), world)
    flags = ["--dask", address, *_tls_flags(pem_files)]
    assert main(["validate", str(world), "--seeds", "2", *flags, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["errors"] == [None, None]
    argv = ["counterfactual", str(world), "--seeds", "2", "--factor", "leverage", *flags]
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--dask-tls-cert", "c.pem"], "--dask-tls-cert: only applies with --dask"),
        (
            ["--dask", "tcp://127.0.0.1:1", "--dask-tls-ca-file", "ca.pem"],
            "--dask-tls-ca-file: TLS needs a tls:// address in --dask, got 'tcp://127.0.0.1:1'",
        ),
        (
            ["--dask", "tls://127.0.0.1:1", "--dask-tls-ca-file", "ca.pem"],
            "--dask-tls-cert: needed with --dask-tls-ca-file",
        ),
        (
            ["--dask", "tls://127.0.0.1:1", "--dask-tls-ca-file", "ca.pem", "--dask-tls-cert", "c"],
            "--dask-tls-ca-file: no such file 'ca.pem'",
        ),
    ],
)
def test_cli_tls_options_are_checked(
    spec_file: Path,
    extra: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(spec_file.parent)
    assert main(["sweep", str(spec_file), *extra]) == 2
    assert message in capsys.readouterr().err
