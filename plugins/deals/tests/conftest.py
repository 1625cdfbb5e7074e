from deals_testing import world  # noqa: F401  (the fixture)
