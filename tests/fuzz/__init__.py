"""Property-based fuzzing (Hypothesis) of every reader of outside input.

    .venv/bin/python -m pytest tests/fuzz                          # the CI budget ("ci" profile)
    HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/fuzz  # a longer run

The profiles are set in tests/conftest.py. A crash found here becomes a plain regression test
with its minimal example (tests/test_hostile_input.py) and is fixed.
"""
