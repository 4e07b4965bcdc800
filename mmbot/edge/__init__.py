"""Edge: backtests on the simulated market, their figures, calibration and regression.

What it is for: measuring what a strategy earns on the seeded market — ``metrics`` (the
figures, from the venue's record; sans-IO), ``stats`` (means and paired differences with
95 % intervals; sans-IO), ``backtest`` (one run: bot and embedded exchange under a
simulated clock; the shell).

What it must never do: contact anything but the embedded exchange, or read the wall clock
inside a run.
"""
