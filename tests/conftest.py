"""Property tests are derandomised: the same examples on every run, so a
landing never depends on luck; run with --hypothesis-seed to explore."""
from hypothesis import settings

settings.register_profile("crmkit", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("crmkit")
