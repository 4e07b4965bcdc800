"""Benchmarks behind ``mmbot bench NAME``: each module here has ``main(argv) -> int``.

They print figures (medians, percentiles, ratios, the machine); they never assert on time.
"""
