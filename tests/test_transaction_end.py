"""crmkit.at_transaction_end: called once the outermost transaction has
committed or rolled back, never while it is open; at once outside one."""
import pytest

import crmkit

pytestmark = pytest.mark.plugins()


def test_called_after_the_outermost_transaction_with_its_outcome(crm):
    seen = []
    with crm.transaction():
        with crm.transaction():   # a savepoint: its callbacks wait for the outer one
            crmkit.at_transaction_end(lambda ok: seen.append(("inner", ok, crm.db.in_transaction())))
        crmkit.at_transaction_end(lambda ok: seen.append(("outer", ok, crm.db.in_transaction())))
        assert seen == []
    assert seen == [("inner", True, False), ("outer", True, False)]
    seen.clear()
    with pytest.raises(RuntimeError):
        with crm.transaction():
            crmkit.at_transaction_end(lambda ok: seen.append(ok))
            raise RuntimeError("undo")
    assert seen == [False]
    crmkit.at_transaction_end(lambda ok: seen.append(("now", ok)))
    assert seen == [False, ("now", True)]


def test_a_failing_callback_neither_hides_the_outcome_nor_stops_the_others(crm):
    seen = []

    def broken(ok):
        raise OSError("disk gone")
    with crm.transaction():
        crmkit.at_transaction_end(broken)
        crmkit.at_transaction_end(seen.append)
        crm.create("core.region", {"name": "Приморье"})
    assert seen == [True] and crm.find("core.region")[0].name == "Приморье"
