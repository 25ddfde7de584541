"""API keys (hashed, revocable) and the service inbox (ids never reused, cursors with the rows)."""

from __future__ import annotations

import pytest

from ecomops.core.errors import StateError
from ecomops.store import AlertRow, DeadLetterRow, Store
from ecomops.store.inbox import Inbox, InboxRow
from ecomops.store.keys import create_key, list_keys, revoke_key, verify_key


def test_keys_are_hashed_scoped_and_revocable(store):
    key, info = create_key(store, "m1", rate_limit=5)
    admin, ainfo = create_key(store, "ops", admin=True)
    assert verify_key(store, key) == info and verify_key(store, admin).admin
    assert verify_key(store, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert verify_key(store, "eco_" + info.key_id + "_" + "x" * 43) is None
    assert [k.key_id for k in list_keys(store, "m1")] == [info.key_id]
    assert revoke_key(store, key) and not revoke_key(store, info.key_id)
    assert verify_key(store, key) is None and verify_key(store, admin) is not None
    for bad in ("", "*", "x" * 200):
        with pytest.raises(StateError):
            create_key(store, bad)


def test_inbox_ids_are_never_reused_after_release(store):
    box = Inbox(store)
    assert box.append([InboxRow(b"1"), InboxRow(b"2")]) == (1, 2)
    box.release(2)
    assert box.read(0) == [] and box.last_id() == 0
    # a reused id 1 would sit below the engine's checkpointed offset (2) and be skipped: lost
    assert box.append([InboxRow(b"3")]) == (3, 3)
    assert [r.payload for r in box.read(2)] == [b"3"]


def test_inbox_cursor_commits_with_its_rows(store):
    box = Inbox(store)
    assert box.cursor("sim:seed=1") is None
    box.append([InboxRow(b"a", origin="sim:seed=1")], cursor=("sim:seed=1", 41))
    box.append([], cursor=("file:x", [0, 10]))
    assert box.cursor("sim:seed=1") == 41 and box.cursor("file:x") == [0, 10]


def test_alerts_are_scoped(store):
    store.commit_checkpoint("main", "s", offset=1, records_read=2, events_applied=2, dead_letter_total=0, state=b"",
                            components={}, new_dead_letters=[],
                            new_alerts=[AlertRow("m1", "risk", "risk", 5, "o1", 0.97, 10.0),
                                        AlertRow("m2", "drift", "propensity", 7)])
    assert [(a.merchant_id, a.ref) for a in store.scoped("m1").alerts()] == [("m1", "o1")]
    assert [a.kind for a in store.scoped("m2").alerts(kind="drift")] == ["drift"]
    assert len(store.scoped("*").alerts()) == 2 and store.scoped("m3").alerts() == []
    assert store.scoped("m1").dead_letters() == [] and DeadLetterRow  # the other tables untouched
