"""The Python API of the main jobs: ``search`` and ``resume``.

Everything needed to rebuild a run (benchmark or model space and their options, objectives,
strategy and its options, seed, budget) is stored in the study's settings, so
``resume(study)`` continues exactly where a killed process stopped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from hwopt.errors import ConfigError, ObjectiveError
from hwopt.evaluators import Evaluator, parse_objectives
from hwopt.strategies import DEFAULT_STRATEGY, get_strategy
from hwopt.study import Progress, Study, get_executor, optimize, remeasure
from hwopt.study._remeasure import noisy_metrics
from hwopt.study._executors import check_backend

#: the main job: ``hwopt search`` with no space or benchmark searches the trained demo super-network
DEFAULT_SPACE = "demo"
#: distinct configs a benchmark search evaluates when no budget is given
DEFAULT_BUDGET = 300
#: re-measurements of each Pareto config after a model-space search
DEFAULT_REMEASURE = 1


def _space_class(name: str):
    from hwopt.supernets import SPACES

    return SPACES.get(name)


def make_evaluator(settings: dict[str, Any]) -> Evaluator:
    """The evaluator a study's settings describe (a tabular benchmark or a model space)."""
    if settings.get("benchmark"):
        from hwopt.benchmarks import get_benchmark

        return get_benchmark(settings["benchmark"], **settings.get("benchmark_options", {}))
    if settings.get("space"):
        from hwopt.supernets import get_space

        model_space = get_space(settings["space"], **settings.get("space_options", {}))
        metrics = sorted({o["name"] for o in settings["objectives"]} | {c["name"] for c in settings.get("constraints", [])})
        return model_space.make_evaluator(metrics, **settings.get("evaluator_options", {}))
    raise ConfigError("the study settings name neither a benchmark nor a space")


def _check_metrics(evaluator: Evaluator, names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in evaluator.metrics]
    if unknown:
        raise ObjectiveError(
            f"unknown metric {unknown[0]!r}; {getattr(evaluator, 'spec', 'this space')} has: {', '.join(evaluator.metrics)}"
        )


def _hv_fn(evaluator: Evaluator, study: Study):
    if hasattr(evaluator, "hv_fraction"):
        return lambda F: evaluator.hv_fraction(F, study.objectives)
    return None


def search(
    *,
    study: str | Path | None,
    benchmark: str | None = None,
    benchmark_options: dict[str, Any] | None = None,
    space: str | None = None,
    space_options: dict[str, Any] | None = None,
    evaluator_options: dict[str, Any] | None = None,
    objectives: Sequence[str] | None = None,
    strategy: str = DEFAULT_STRATEGY,
    strategy_options: dict[str, Any] | None = None,
    budget: int | None = None,
    seed: int | None = 0,
    n_jobs: int = 1,
    executor: str = "process",
    ray_address: str | None = None,
    progress: Progress | None = None,
    study_name: str = "hwopt",
    references: bool = True,
    remeasure: int | None = None,
) -> Study:
    """Create a study and run a search in it; returns the study. With ``references``, a model
    space's reference configs (a super-network's largest and smallest sub-networks) are measured
    first, within the budget. ``remeasure``: after the search, each Pareto config is measured that
    many times more and the front confirmed on the medians (default: once for a model space,
    whose measurements vary from run to run; never for a tabular benchmark, whose do not)."""
    if benchmark is None and space is None:
        space = DEFAULT_SPACE
    if benchmark is None and space and Path(space).suffix in (".yaml", ".yml", ".json"):
        from hwopt.space import load_space

        load_space(space)  # a malformed file is reported precisely first
        raise ConfigError(
            f"{space} defines a space but no way to evaluate it; search it with --benchmark table:FILE.csv "
            "or bind it to an Evaluator in the Python API (hwopt.study.optimize)"
        )
    if budget is None:
        budget = DEFAULT_BUDGET if benchmark else _space_class(space).default_budget
    if budget < 1:
        raise ConfigError(f"budget must be at least 1, got {budget}")
    check_backend(executor)  # refused before anything is created
    if remeasure is not None and remeasure < 0:
        raise ConfigError(f"remeasure must be 0 or more, got {remeasure}")
    benchmark_options = dict(benchmark_options or {})
    for key in ("data_dir", "space"):  # stored absolute, so resume/report work from any directory
        value = benchmark_options.get(key)
        if isinstance(value, (str, Path)) and Path(value).exists():
            benchmark_options[key] = str(Path(value).resolve())
    settings: dict[str, Any] = {
        "benchmark": benchmark, "benchmark_options": benchmark_options,
        "space": space, "space_options": space_options or {}, "evaluator_options": evaluator_options or {},
        "strategy": strategy, "strategy_options": strategy_options or {}, "seed": seed, "budget": budget,
        "n_jobs": n_jobs, "executor": executor, "ray_address": ray_address, "references": references,
        "remeasure": (0 if benchmark else DEFAULT_REMEASURE) if remeasure is None else remeasure,
    }
    strat = get_strategy(strategy, seed=seed, **(strategy_options or {}))
    if objectives is None:
        probe = make_evaluator({**settings, "objectives": [], "constraints": []}) if benchmark else None
        if benchmark:
            objectives = list(probe.default_objectives)
        else:
            from hwopt.supernets import get_space

            objectives = list(get_space(space, **(space_options or {})).default_objectives)
    objs, cons = parse_objectives(objectives)
    settings["objectives"] = [{"name": o.name, "direction": o.direction} for o in objs]
    settings["constraints"] = [{"name": c.name, "op": c.op, "bound": c.bound} for c in cons]
    evaluator = make_evaluator(settings)
    _check_metrics(evaluator, [o.name for o in objs] + [c.name for c in cons])
    settings["evaluator_context"] = evaluator.context()
    st = Study.create(study, objs, cons, settings=settings, name=study_name)
    _run(st, evaluator, strat, budget, progress)
    return st


def resume(study: str | Path, *, budget: int | None = None, progress: Progress | None = None,
           study_name: str | None = None) -> Study:
    """Continue a study until its budget (or a new, larger ``budget``) of distinct configs is
    reached, and its Pareto configs are re-measured as its settings ask."""
    st = Study.load(study, study_name)
    s = st.settings
    if budget is not None:
        st.set_setting("budget", budget)
    evaluator = make_evaluator(s)
    strat = get_strategy(s["strategy"], seed=s.get("seed"), **s.get("strategy_options", {}))
    _run(st, evaluator, strat, int(s["budget"]), progress)
    return st


def remeasure_front(study: str | Path | Study, repeats: int | None = None, *, progress: Progress | None = None,
                    study_name: str | None = None) -> Study:
    """Measure each Pareto config of a study ``repeats`` more times (default: the study's setting,
    else once) and confirm the front on the medians; stored measurements are never redone."""
    st = study if isinstance(study, Study) else Study.load(study, study_name)
    if repeats is None:
        repeats = int(st.settings.get("remeasure") or DEFAULT_REMEASURE)
    if repeats < 1:
        raise ConfigError(f"repeats must be at least 1, got {repeats}")
    if int(st.settings.get("remeasure") or 0) < repeats:
        st.set_setting("remeasure", repeats)
    remeasure(st, make_evaluator(st.settings), repeats, executor=_executor(st.settings), progress=progress)
    return st


def _executor(settings: dict[str, Any]):
    """The executor a study's settings ask for (studies from before backends: local processes)."""
    return get_executor(int(settings.get("n_jobs", 1)), settings.get("executor") or "process",
                        settings.get("ray_address"))


def _run(st: Study, evaluator: Evaluator, strat, budget: int, progress: Progress | None) -> None:
    exact_fn = getattr(evaluator, "exact_fn", None)  # tabular benchmarks know some metrics exactly
    exact, exact_cols = exact_fn(st.objectives) if exact_fn else (None, ())
    feature_fn = getattr(evaluator, "feature_fn", None)
    cost_fn = getattr(evaluator, "cost_fn", None)  # per-op-class counts under a measured latency
    costs, cost_cols = cost_fn(st.objectives) if cost_fn else (None, ())
    # studies from before references existed have no such setting: resumed as they were run
    wants_refs = st.settings.get("references", False) and hasattr(evaluator, "reference_configs")
    optimize(
        st, evaluator, strat, budget, executor=_executor(st.settings), progress=progress,
        hv_fn=_hv_fn(evaluator, st),
        exact=exact, exact_columns=exact_cols, features=feature_fn() if feature_fn else None,
        cost_counts=costs, cost_columns=cost_cols,
        enqueue=evaluator.reference_configs() if wants_refs else (),
    )
    repeats = int(st.settings.get("remeasure") or 0)  # studies from before re-measurement: none
    if repeats and noisy_metrics(st, evaluator):
        remeasure(st, evaluator, repeats, executor=_executor(st.settings), progress=progress)
