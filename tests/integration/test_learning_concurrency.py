"""Two processes teaching the same model lose none of each other's lessons: a save writes over
the version it read, and a bank that finds a newer version replays its lessons on it (both
databases)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine

from bestnext.db import create_db_engine
from bestnext.decisions.learning import ModelBank
from bestnext.errors import Conflict

ACTION, CHANNEL = "offer_prepaid_card", "email"


def _lessons(seed: int, n: int) -> list[tuple[dict[str, float], bool]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        young = bool(rng.random() < 0.5)
        out.append(({"age=18-29" if young else "age=50-64": 1.0}, bool(rng.random() < (0.6 if young else 0.1))))
    return out


def _teach(bank: ModelBank, lessons: list[tuple[dict[str, float], bool]]) -> None:
    for x, y in lessons:
        bank.learn(ACTION, CHANNEL, x, y)


def _stored(engine: Engine) -> ModelBank:
    bank = ModelBank()
    with engine.begin() as conn:
        bank.load(conn)
    return bank


@pytest.fixture
def engine(db_url: str) -> Any:
    built = create_db_engine(db_url)
    yield built
    built.dispose()


def test_a_stale_save_replays_its_lessons_on_the_newer_model(engine: Engine) -> None:
    base, first, second = _lessons(1, 50), _lessons(2, 7), _lessons(3, 5)
    seed = ModelBank()
    _teach(seed, base)
    with engine.begin() as conn:
        seed.save(conn)
    a, b = _stored(engine), _stored(engine)  # two processes, both at version 1
    _teach(a, first)
    _teach(b, second)
    with engine.begin() as conn:
        assert a.save(conn) == 1
    with engine.begin() as conn:
        assert b.save(conn) == 1  # finds version 2, merges, writes version 3

    expected = ModelBank()  # what one process learning everything in commit order holds
    _teach(expected, base + first + second)
    stored = _stored(engine)
    model = stored.models[(ACTION, CHANNEL)]
    assert model.n_seen == len(base) + len(first) + len(second)
    assert model.to_state() == expected.models[(ACTION, CHANNEL)].to_state()
    assert stored.monitor() == expected.monitor()
    assert b.models[(ACTION, CHANNEL)].to_state() == model.to_state(), "the merging process holds it too"


def test_concurrent_learners_lose_no_lesson(engine: Engine) -> None:
    with engine.begin() as conn:  # the model exists before the learners load it
        seed = ModelBank()
        _teach(seed, _lessons(0, 1))
        seed.save(conn)
    learners, per_learner = 4, 20
    errors: list[BaseException] = []
    start = threading.Barrier(learners)

    def learner(seed_: int) -> None:
        try:
            bank = _stored(engine)
            start.wait()
            for x, y in _lessons(seed_, per_learner):
                bank.learn(ACTION, CHANNEL, x, y)
                with engine.begin() as conn:
                    bank.save(conn)
        except BaseException as exc:  # reported below, with the thread's failure
            errors.append(exc)

    threads = [threading.Thread(target=learner, args=(10 + i,)) for i in range(learners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    stored = _stored(engine)
    assert stored.models[(ACTION, CHANNEL)].n_seen == 1 + learners * per_learner
    assert stored.monitor()[f"{ACTION}/{CHANNEL}"]["responses"] == 1 + learners * per_learner


def test_a_bank_never_loaded_does_not_overwrite_a_stored_model(engine: Engine) -> None:
    stored = ModelBank()
    _teach(stored, _lessons(1, 10))
    with engine.begin() as conn:
        stored.save(conn)
    fresh = ModelBank()
    _teach(fresh, _lessons(2, 3))
    with pytest.raises(Conflict), engine.begin() as conn:
        fresh.save(conn)
    assert _stored(engine).models[(ACTION, CHANNEL)].n_seen == 10
