"""Edge: backtests on the simulated market, their figures, calibration and regression.

What it is for: measuring what a strategy earns on the seeded market — ``metrics`` (the
figures, from the venue's record; sans-IO), ``stats`` (means and paired differences with
95 % intervals; sans-IO), ``backtest`` (one run: bot and embedded exchange under a
simulated clock; the shell), ``report`` (summaries, comparisons, regressions against a
baseline, tables; sans-IO), ``cli`` (``mmbot backtest``), ``halving`` (successive halving
over a parameter grid; sans-IO), ``grid`` (the grid and each point's config; sans-IO),
``calibrate`` (``mmbot calibrate``: the search run on worker processes or Dask,
the chosen config written; the shell) and ``halving_picture`` (its picture).

What it must never do: contact anything but the embedded exchange, or read the wall clock
inside a run.
"""
