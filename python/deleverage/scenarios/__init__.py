"""Built-in scenario presets: the ``.toml`` files shipped in this package."""

from __future__ import annotations

from importlib.resources import files

from deleverage.scenario import Scenario, from_toml_str

__all__ = ["PRESETS", "TYPICAL_WALL_SECONDS", "load_preset"]

#: The names of the shipped presets (their file names without ``.toml``), sorted.
PRESETS: tuple[str, ...] = tuple(
    sorted(
        entry.name[: -len(".toml")]
        for entry in files(__name__).iterdir()
        if entry.is_file() and entry.name.endswith(".toml")
    )
)


def load_preset(name: str) -> Scenario:
    """The built-in scenario ``name`` (one of ``PRESETS``), loaded and validated."""
    if name not in PRESETS:
        raise ValueError(f"name: unknown preset {name!r}; available: {', '.join(PRESETS)}")
    text = files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return from_toml_str(text)


#: Typical wall time of one run of each preset, seconds, on 2 cores (measured once, when
#: the preset was written; gold-2026 and dash-for-cash-2020 again when ``deleverage run``
#: gave them two threads; ``deleverage presets`` says so). A preset missing here has none.
TYPICAL_WALL_SECONDS: dict[str, float] = {
    "default": 0.1,
    "default-hour": 0.02,
    "default-day": 0.5,
    "gold-2026": 20.0,
    "crypto-cascade-2025": 2.5,
    "dash-for-cash-2020": 8.5,
    "leverage-cycle": 3.0,
}
