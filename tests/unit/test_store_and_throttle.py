"""The artifact store's contract and the sign-in throttle, on a real (embedded) Redis."""

from __future__ import annotations

import pytest

from idp.accounts.throttle import LoginThrottle, account_key
from idp.errors import StoreUnavailableError, TooManyAttemptsError
from idp.store import ArtifactStore, Ref, connect, embedded, key


@pytest.fixture
def store(short_tmp) -> ArtifactStore:
    url = embedded.ensure_running(short_tmp)
    yield connect(url)
    embedded.stop(short_tmp)


def test_every_artifact_has_a_ttl(store):
    store.upsert("code", "abc", {"v": 1}, ttl=30)
    assert 0 < store.client.ttl("idp:code:{abc}") <= 30
    with pytest.raises(ValueError, match="TTL"):
        store.upsert("code", "forever", {"v": 1}, ttl=0)
    store.incr("count", "x", ttl=50)
    store.index_add("owner", "o", "m", ttl=40)
    for name in store.client.keys("idp:*"):
        assert store.client.ttl(name) > 0, name


def test_keys_of_one_id_or_one_group_share_a_cluster_slot():
    from redis.crc import key_slot

    assert key("guess", "f") == "idp:guess:{f}"
    assert key("refresh", "d1", group="g") == "idp:refresh:{g}:d1"
    same = [key("otp", "f"), key("otp-tries", "f")]
    grouped = [key("refresh", "d1", "g"), key("refresh", "d2", "g"), Ref("grant", "g").key]
    for keys in (same, grouped):
        assert len({key_slot(k.encode()) for k in keys}) == 1, keys


def test_update_never_brings_back_what_is_gone(store):
    store.upsert("txn", "t", {"state": "a"}, ttl=30)
    assert store.update("txn", "t", {"state": "b"}, ttl=30)
    assert store.consume("txn", "t") == {"state": "b"}
    assert not store.update("txn", "t", {"state": "c"}, ttl=30)
    assert store.find("txn", "t") is None


def test_find_each_reads_any_kinds_in_order(store):
    store.upsert("grant", "g", {"v": 1}, ttl=30)
    store.upsert("refresh", "d", {"v": 2}, ttl=30, group="g")
    assert store.find_each(("revoked-jti", "j"), ("grant", "g")) == [None, {"v": 1}]
    assert store.find_each(Ref("refresh", "d", "g"), Ref("grant", "g")) == [{"v": 2}, {"v": 1}]
    assert store.find_each() == []


def test_consume_is_single_use(store):
    store.upsert("code", "abc", {"v": 1}, ttl=30)
    assert store.consume("code", "abc") == {"v": 1}
    assert store.consume("code", "abc") is None
    assert store.find("code", "abc") is None


def test_counter_window_starts_at_the_first_event(store):
    assert [store.incr("c", "k", ttl=100) for _ in range(3)] == [1, 2, 3]
    store.client.expire("idp:c:{k}", 5)
    store.incr("c", "k", ttl=100)
    assert store.ttl("c", "k") <= 5  # later events do not extend the window


def test_guess_compares_and_counts_in_one_step(store):
    store.upsert("otp", "f", {"code": "d1", "phone": "17000000001"}, ttl=30)
    assert store.guess("otp", "f", "code", "d1", 3) == (
        {"code": "d1", "phone": "17000000001"},
        None,
    )
    assert store.guess("otp", "f", "code", "wrong", 3) == (None, 1)
    assert 0 < store.client.pttl("idp:otp-tries:{f}") <= 30_000  # dies with its artifact
    assert store.guess("otp", "f", "code", "", 3) == (None, 2)  # "" spends a try, no match
    assert store.find("otp", "f") is not None
    assert store.guess("otp", "f", "code", "wrong", 3) == (None, 3)  # the limit: destroyed
    assert store.find("otp", "f") is None and not store.client.exists("idp:otp-tries:{f}")
    assert store.guess("otp", "f", "code", "d1", 3) == (None, None)  # too late, even right


def test_unreachable_redis_is_reported_as_unavailable(short_tmp):
    store = connect(f"unix://{short_tmp}/nothing.sock")
    with pytest.raises(StoreUnavailableError):
        store.find("code", "abc")


def test_throttle_blocks_at_the_limit_and_again_after_each_failure(store):
    throttle = LoginThrottle(
        store, max_failures=3, lockout_seconds=60, address_max_failures=1000, address_window=60
    )
    key = account_key("p1", "alice")
    for _ in range(2):
        assert not throttle.failed(throttle.attempt(key, "127.0.0.1"))
    assert throttle.failed(throttle.attempt(key, "127.0.0.1"))
    with pytest.raises(TooManyAttemptsError) as blocked:
        throttle.attempt(key, "127.0.0.1")
    assert 0 < blocked.value.retry_after <= 60
    store.destroy("login-lock", key)  # the lockout expires...
    assert throttle.failed(throttle.attempt(key, "127.0.0.1"))  # ...one more failure blocks
    with pytest.raises(TooManyAttemptsError):
        throttle.attempt(key, "127.0.0.1")


def test_the_attempt_at_the_limit_is_judged_but_none_after_it(store):
    """Counted before it is judged: three tries in flight at once at a limit of three are
    all judged, a fourth is not, however fast it comes."""
    throttle = LoginThrottle(
        store, max_failures=3, lockout_seconds=60, address_max_failures=1000, address_window=60
    )
    key = account_key("p2", "bob")
    in_flight = [throttle.attempt(key, None) for _ in range(3)]
    assert [a.number for a in in_flight] == [1, 2, 3]
    with pytest.raises(TooManyAttemptsError):
        throttle.attempt(key, None)
    throttle.succeeded(in_flight[2])  # the right password after all: the count starts again
    assert throttle.attempt(key, None).number == 1


def test_a_success_gives_the_address_its_try_back(store):
    throttle = LoginThrottle(
        store, max_failures=50, lockout_seconds=60, address_max_failures=2, address_window=60
    )
    for person in ("p3", "p4", "p5"):
        throttle.succeeded(throttle.attempt(account_key(person, ""), "192.0.2.7"))
    throttle.failed(throttle.attempt(account_key("p6", ""), "192.0.2.7"))
    throttle.failed(throttle.attempt(account_key("p7", ""), "192.0.2.7"))
    with pytest.raises(TooManyAttemptsError):
        throttle.attempt(account_key("p8", ""), "192.0.2.7")  # two failures: the limit


def test_throttle_refuses_more_than_100():
    with pytest.raises(ValueError, match="100"):
        LoginThrottle(
            None,
            max_failures=101,
            lockout_seconds=1,  # type: ignore[arg-type]
            address_max_failures=10,
            address_window=60,
        )


def test_unknown_identifiers_are_keyed_case_insensitively():
    assert account_key(None, " Ghost ") == account_key(None, "ghost")
    assert account_key("p1", "anything") == "p:p1"


def test_stop_returns_once_the_server_has_exited_and_it_can_start_again(short_tmp):
    url = embedded.ensure_running(short_tmp)
    client = connect(url).client
    client.set("k", "v")  # a connected client, as the app's pool keeps one
    pid = int((short_tmp / "redis.pid").read_text())
    embedded.stop(short_tmp)
    assert not embedded._running(pid)
    assert not (short_tmp / embedded.SOCKET_NAME).exists()
    embedded.ensure_running(short_tmp)
    assert int((short_tmp / "redis.pid").read_text()) != pid
    assert connect(url).client.get("k") is None  # nothing persisted
    embedded.stop(short_tmp)


def test_an_exited_process_not_yet_reaped_is_not_running():
    import subprocess
    import sys
    import time

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        while embedded._running(child.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not embedded._running(child.pid)  # a zombie until waited for
        assert child.poll() == 0
    finally:
        child.wait()
