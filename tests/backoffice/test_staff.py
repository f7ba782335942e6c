"""Staff: add, disable (cannot sign in), reset a PIN, list with last sign-in; the last
admin cannot be disabled or demoted, also when two admins try at the same moment."""

from __future__ import annotations

import threading
import uuid

import pytest

from core.actors import authenticate
from core.backoffice import staff
from core.errors import BoxOfficeError
from tests.backoffice.conftest import operator_actor


def test_add_disable_reset_list(bctx, actx, admin, carla):
    key = uuid.uuid4()
    oid = staff.add_operator(actx, admin, key, "edu", "Eduardo Paz", "cashier", "1357")
    assert staff.add_operator(actx, admin, key, "edu", "Eduardo Paz", "cashier", "1357") == oid
    with pytest.raises(BoxOfficeError) as e:
        staff.add_operator(actx, admin, uuid.uuid4(), "edu", "Other", "cashier", "1357")
    assert e.value.code == "operator_exists"
    with pytest.raises(BoxOfficeError) as e:  # supervisors do not manage staff
        staff.add_operator(actx, carla, uuid.uuid4(), "fay", "Fay", "cashier", "1357")
    assert e.value.code == "not_authorized"
    with pytest.raises(BoxOfficeError) as e:
        staff.add_operator(actx, admin, uuid.uuid4(), "Bad Login", "X", "cashier", "1357")
    assert e.value.code == "invalid_input"

    op = authenticate(actx.engine, "edu", "1357")
    staff.note_sign_in(actx.engine, op.id)
    row = next(o for o in staff.list_operators(bctx.engine) if o.login == "edu")
    assert row.active and row.last_sign_in_at is not None and row.role == "cashier"
    assert "pin" not in str(row.to_json()).lower()

    staff.set_active(actx, admin, uuid.uuid4(), "edu", False)
    with pytest.raises(BoxOfficeError) as e:
        authenticate(actx.engine, "edu", "1357")
    assert e.value.code == "invalid_pin"
    staff.set_active(actx, admin, uuid.uuid4(), "edu", True)

    for _ in range(5):  # locked out...
        with pytest.raises(BoxOfficeError):
            authenticate(actx.engine, "edu", "0000")
    with pytest.raises(BoxOfficeError) as e:
        authenticate(actx.engine, "edu", "1357")
    assert e.value.code == "operator_locked"
    staff.reset_pin(actx, admin, uuid.uuid4(), "edu", "24680")  # ...reset clears it
    assert authenticate(actx.engine, "edu", "24680").login == "edu"
    with pytest.raises(BoxOfficeError):
        authenticate(actx.engine, "edu", "1357")
    with pytest.raises(BoxOfficeError) as e:
        staff.reset_pin(actx, admin, uuid.uuid4(), "edu", "12")
    assert e.value.code == "invalid_input"
    # An operator may change their own PIN; not someone else's.
    edu = operator_actor(actx, "edu", "24680")
    staff.reset_pin(actx, edu, uuid.uuid4(), "edu", "97531")
    with pytest.raises(BoxOfficeError) as e:
        staff.reset_pin(actx, edu, uuid.uuid4(), "carla", "97531")
    assert e.value.code == "not_authorized"


def test_last_admin_remains_under_concurrency(bctx, actx, admin, system):
    with pytest.raises(BoxOfficeError) as e:
        staff.set_active(actx, admin, uuid.uuid4(), "root", False)
    assert e.value.code == "last_admin"
    with pytest.raises(BoxOfficeError) as e:
        staff.set_role(actx, admin, uuid.uuid4(), "root", "supervisor")
    assert e.value.code == "last_admin"
    with pytest.raises(BoxOfficeError) as e:
        staff.bootstrap_admin(bctx, system, uuid.uuid4(), "root2", "Root 2", "4321")
    assert e.value.code == "admin_exists"

    for round_ in range(5):
        logins = [f"adm{round_}a", f"adm{round_}b"]
        for lg in logins:
            staff.add_operator(actx, admin, uuid.uuid4(), lg, lg, "admin", "4321")
        actors = [operator_actor(actx, lg, "4321") for lg in logins]
        # Only these two (and root) are admins; take root out of the way first.
        staff.set_role(actx, actors[0], uuid.uuid4(), "root", "supervisor")
        results: list[str] = []
        barrier = threading.Barrier(2)

        def disable_other(me: int, actors=actors, logins=logins, results=results,
                          barrier=barrier) -> None:
            barrier.wait()
            try:
                staff.set_active(actx, actors[me], uuid.uuid4(), logins[1 - me], False)
                results.append("ok")
            except BoxOfficeError as exc:
                results.append(exc.code)

        threads = [threading.Thread(target=disable_other, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["last_admin", "ok"], results
        admins = [o for o in staff.list_operators(bctx.engine)
                  if o.role == "admin" and o.active]
        assert len(admins) == 1
        survivor = operator_actor(actx, admins[0].login, "4321")
        staff.set_role(actx, survivor, uuid.uuid4(), "root", "admin")
        staff.set_active(actx, admin, uuid.uuid4(), admins[0].login, False)
