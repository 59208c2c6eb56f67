# Cross-module, web and browser tests of the HB modules (see runner.py).
