"""Study: the persistent record of a search, in Optuna storage.

One Optuna trial per evaluated config, written in a single transaction once the evaluation
ends, so a killed process never leaves a half-written result and never loses a finished one.
Each trial keeps, in its user attribute ``hwopt``, its config, the canonical hash, all
measurements, the failure reason, duration, strategy, seed and hwopt version; the config is also
flattened into Optuna params and the objectives are the trial's values, so optuna-dashboard and
Optuna's own tools can read the study. Settings needed to resume, per-round strategy
diagnostics and re-measurements of front configs live in the study's user attributes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from hwopt import __version__
from hwopt.errors import StudyError
from hwopt.evaluators import Constraint, Objective, scalar
from hwopt.space import Config, SearchSpace

_SETTINGS = "hwopt:settings"
#: one user attribute per trial holds hwopt's record (one row to write, not seven)
_TRIAL = "hwopt"
_ROUND = "hwopt:round:"
#: re-measurements of front configs: one study attribute each, ``hwopt:again:<config hash>:<k>``
_AGAIN = "hwopt:again:"
DEFAULT_NAME = "hwopt"


def storage_url(storage: str | Path | None) -> str | None:
    """A SQLAlchemy URL for a path (SQLite file) or URL; None stays None (in-memory)."""
    if storage is None:
        return None
    s = str(storage)
    if "://" in s:
        return s
    return f"sqlite:///{Path(s).expanduser().resolve()}"


@dataclass
class TrialRecord:
    """One evaluated config as hwopt sees it."""

    number: int
    state: str  # COMPLETE | FAIL | RUNNING | ...
    config: Config
    config_hash: str
    measurements: dict[str, Any] = field(default_factory=dict)
    values: list[float] | None = None
    fail_reason: str = ""
    duration_s: float | None = None
    strategy: str = ""
    seed: int | None = None
    hwopt_version: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "COMPLETE"


def _flat_params(space: SearchSpace | None, config: Config) -> tuple[dict, dict]:
    """Optuna params + distributions for the active values of a config (dashboard view)."""
    import optuna

    if space is None:
        return {}, {}
    params, dists = {}, {}
    for p in space.parameters:
        v = config.get(p.name)
        items = enumerate(v) if p.length else [(None, v)]
        for i, e in items:
            if e is None:
                continue
            key = p.name if i is None else f"{p.name}[{i}]"
            if p.kind == "integer":
                dists[key] = optuna.distributions.IntDistribution(p.low, p.high, step=p.step)
            elif p.kind == "float":
                dists[key] = optuna.distributions.FloatDistribution(p.low, p.high, log=p.log)
            else:
                dists[key] = optuna.distributions.CategoricalDistribution(p.choices)
            params[key] = e
    return params, dists


def _connect_sqlite(path: str):
    """SQLite in WAL mode with NORMAL sync: each trial stays one atomic transaction that survives a
    killed process, at a fraction of the default commit cost (only power loss may drop the last ones)."""
    import sqlite3

    con = sqlite3.connect(path, timeout=30, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    return con


def open_storage(url: str | None):
    """An Optuna storage for a URL (None: in memory); SQLite files get the fast, crash-safe pragmas."""
    import optuna

    if url is None:
        return None
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = url[len("sqlite:///"):]
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs={"creator": lambda: _connect_sqlite(path)})
        except Exception as exc:
            raise StudyError(f"cannot open storage {url}: {str(exc).splitlines()[0]}") from None
    try:
        return optuna.storages.RDBStorage(url)
    except Exception as exc:
        raise StudyError(f"cannot open storage {url}: {str(exc).splitlines()[0]}") from None


class Study:
    """A search's trials and settings in Optuna storage (SQLite file, any SQLAlchemy URL, or memory)."""

    def __init__(self, optuna_study, settings: dict[str, Any], storage: str | None):
        self._study = optuna_study
        self.settings = settings
        self.storage = storage
        self.objectives = [Objective(o["name"], o["direction"]) for o in settings.get("objectives", [])]
        self.constraints = [Constraint(c["name"], c["op"], c["bound"]) for c in settings.get("constraints", [])]

    # ------------------------------------------------------------------ opening
    @classmethod
    def create(
        cls,
        storage: str | Path | None,
        objectives: Sequence[Objective],
        constraints: Sequence[Constraint] = (),
        settings: dict[str, Any] | None = None,
        name: str = DEFAULT_NAME,
    ) -> "Study":
        """A new study; refuses to overwrite an existing one of the same name."""
        import optuna

        url = storage_url(storage)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if url and _existing_names(url) and name in _existing_names(url):
            raise StudyError(f"{storage} already holds a study {name!r}; continue it with: hwopt resume {storage}")
        try:
            st = optuna.create_study(
                storage=open_storage(url), study_name=name,
                directions=["maximize" if o.direction == "max" else "minimize" for o in objectives],
            )
        except Exception as exc:  # sqlalchemy / optuna errors on a bad URL
            raise StudyError(f"cannot create study in {storage}: {str(exc).splitlines()[0]}") from None
        full = dict(settings or {})
        full["objectives"] = [{"name": o.name, "direction": o.direction} for o in objectives]
        full["constraints"] = [{"name": c.name, "op": c.op, "bound": c.bound} for c in constraints]
        full.setdefault("hwopt_version", __version__)
        full.setdefault("created", dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
        st.set_user_attr(_SETTINGS, full)
        return cls(st, full, url)

    @classmethod
    def load(cls, storage: str | Path, name: str | None = None) -> "Study":
        """Open an existing study; ``name`` may be omitted when the storage holds just one."""
        import optuna

        url = storage_url(storage)
        if url and url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
            raise StudyError(f"study file {str(storage)!r} does not exist")
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        names = _existing_names(url)
        if name is None:
            if len(names) != 1:
                raise StudyError(f"{storage} holds {len(names)} studies ({', '.join(names) or 'none'}); pass --study-name")
            name = names[0]
        elif name not in names:
            raise StudyError(f"{storage} has no study {name!r}; it has: {', '.join(names) or 'none'}")
        st = optuna.load_study(study_name=name, storage=open_storage(url))
        settings = st.user_attrs.get(_SETTINGS)
        if not settings:
            raise StudyError(f"study {name!r} in {storage} was not created by hwopt (no settings)")
        return cls(st, settings, url)

    @property
    def name(self) -> str:
        return self._study.study_name

    @property
    def optuna_study(self):
        """The underlying ``optuna.Study`` (for Optuna's own tools)."""
        return self._study

    # ------------------------------------------------------------------ writing
    def add(
        self,
        config: Config,
        config_hash: str,
        measurements: dict[str, Any] | None,
        *,
        started: dt.datetime,
        finished: dt.datetime,
        space: SearchSpace | None = None,
        fail_reason: str = "",
        strategy: str = "",
        seed: int | None = None,
        worker: str | None = None,
    ) -> TrialRecord:
        """Record one finished evaluation in one transaction; NaN/missing objectives make it FAIL."""
        import optuna

        values = None
        if not fail_reason:
            fail_reason, values = _objective_values(self.objectives, measurements or {})
        state = optuna.trial.TrialState.FAIL if fail_reason else optuna.trial.TrialState.COMPLETE
        params, dists = _flat_params(space, config)
        attrs = {
            "config": config, "config_hash": config_hash, "measurements": _jsonable(measurements or {}),
            "duration_s": (finished - started).total_seconds(), "strategy": strategy, "seed": seed,
            "hwopt_version": __version__,
        }
        if fail_reason:
            attrs["fail_reason"] = fail_reason
        if worker:
            attrs["worker"] = worker
        frozen = optuna.trial.create_trial(
            state=state, values=values, params=params, distributions=dists, user_attrs={_TRIAL: attrs},
        )
        frozen.datetime_start, frozen.datetime_complete = started, finished
        self._study.add_trial(frozen)
        if fail_reason:
            logging.getLogger("hwopt").info("trial failed: %s", fail_reason)
        return _record(frozen)

    def claims(self):
        """Claims of this worker on a study in a database (None in memory: one process only)."""
        if self.storage is None or self.storage == "sqlite:///:memory:":
            return None
        from hwopt.study._claims import Claims

        return Claims(self.storage, self.name)

    def add_round(self, info: dict[str, Any]) -> None:
        """Save per-round strategy diagnostics (e.g. predictor health)."""
        k = len(self.rounds())
        self._study.set_user_attr(f"{_ROUND}{k:05d}", _jsonable(info))

    def add_remeasurement(self, config_hash: str, measurements: dict[str, Any] | None, *,
                          fail_reason: str = "") -> None:
        """Record one more measurement of an evaluated config (finished trials are immutable in
        Optuna, so it goes into a study attribute of its own: one write, nothing half-saved)."""
        k = len(self.remeasurements().get(config_hash, []))
        rec: dict[str, Any] = {"measurements": _jsonable(measurements or {}),
                               "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        if fail_reason:
            rec["fail_reason"] = fail_reason
        self._study.set_user_attr(f"{_AGAIN}{config_hash}:{k:03d}", rec)

    def remeasurements(self) -> dict[str, list[dict[str, Any]]]:
        """Config hash → its re-measurements in order (``{"measurements", "at"[, "fail_reason"]}``)."""
        attrs = self._study.user_attrs
        out: dict[str, list[dict[str, Any]]] = {}
        for key in sorted(a for a in attrs if a.startswith(_AGAIN)):
            out.setdefault(key[len(_AGAIN):].rsplit(":", 1)[0], []).append(attrs[key])
        return out

    def set_setting(self, key: str, value: Any) -> None:
        self.settings[key] = value
        self._study.set_user_attr(_SETTINGS, self.settings)

    # ------------------------------------------------------------------ reading
    @property
    def trials(self) -> list[TrialRecord]:
        return [_record(t) for t in self._study.get_trials(deepcopy=False)]

    def trial(self, number: int) -> TrialRecord:
        for t in self.trials:
            if t.number == number:
                return t
        raise StudyError(f"study {self.name!r} has no trial {number}; it has 0..{len(self.trials) - 1}")

    def rounds(self) -> list[dict[str, Any]]:
        attrs = self._study.user_attrs
        return [attrs[k] for k in sorted(a for a in attrs if a.startswith(_ROUND))]


def _objective_values(objectives: Sequence[Objective], measurements: dict) -> tuple[str, list[float] | None]:
    """(fail reason or "", objective values): a missing, NaN or infinite objective is a failure."""
    values = []
    for o in objectives:
        try:
            v = scalar(measurements.get(o.name))
        except Exception as exc:  # a malformed measurement is data about the failure
            return f"bad measurement {o.name!r}: {exc}", None
        if not math.isfinite(v):
            return f"objective {o.name!r} is {'missing' if o.name not in measurements else v}", None
        values.append(v)
    return "", values


def _record(t) -> TrialRecord:
    """A TrialRecord from an Optuna FrozenTrial (``number`` is -1 before storage assigns one)."""
    ua = t.user_attrs.get(_TRIAL, {})
    return TrialRecord(
        number=t.number, state=t.state.name, config=ua.get("config", {}),
        config_hash=ua.get("config_hash", ""), measurements=ua.get("measurements", {}), values=t.values,
        fail_reason=ua.get("fail_reason", ""), duration_s=ua.get("duration_s"), strategy=ua.get("strategy", ""),
        seed=ua.get("seed"), hwopt_version=ua.get("hwopt_version", ""),
    )


def _existing_names(url: str | None) -> list[str]:
    import optuna

    if url is None:
        return []
    try:
        return [s.study_name for s in optuna.study.get_all_study_summaries(open_storage(url), include_best_trial=False)]
    except StudyError:
        raise
    except Exception as exc:
        raise StudyError(f"cannot open storage {url}: {str(exc).splitlines()[0]}") from None


def _jsonable(obj: Any) -> Any:
    """Measurements as plain JSON (numpy scalars → float, NaN/inf → None)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return json.loads(json.dumps(obj, default=str)) if not isinstance(obj, (int, float, str, bool, type(None))) else obj
