"""Reports of a study: Pareto front, hypervolume curve, plots and a self-contained HTML page.

Reads Studies, never writes them. ``write_report(study, out_dir)`` is what ``hwopt search``,
``hwopt resume`` and ``hwopt report`` call; the smaller pieces are public for notebooks.
"""

from hwopt.report._build import Report, build_report, write_report
from hwopt.report._frames import pareto_front, trials_frame
from hwopt.report._hv import hypervolume_curve
from hwopt.study import non_dominated

__all__ = [
    "Report", "build_report", "hypervolume_curve", "non_dominated", "pareto_front", "trials_frame", "write_report",
]
