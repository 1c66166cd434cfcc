"""config/pii.py's caches (what keeps encryption within 15 % of the cost without it): the
prepared HMAC per purpose, the AEAD per key, the keyring kept until a key setting changes, and
the bounded blind-index memo of one save."""

import hashlib
import hmac
import logging
import threading

import pytest
from django.core.cache import caches
from django.test import override_settings

from config import pii
from tests.pii_keys import TEST_BLIND_INDEX_KEY, TEST_FIELD_ENCRYPTION_KEY, TEST_FIELD_ENCRYPTION_KEY_OLD

NIK = "1704015708900001"
NORMALISE = pii.normalise  # as imported: a test below counts the calls of pii.normalise
PURPOSES = ("nik", "kk", "phone", "nik-region-date", "import-worker-id", "name")


def fresh_index(value: str, purpose: str, blind_key: str = TEST_BLIND_INDEX_KEY) -> str:
    """The index as specified, computed from scratch: HMAC under HMAC(key, "purpose:" + purpose)."""
    raw = pii._decode_key(blind_key, "BLIND_INDEX_KEY")
    purpose_key = hmac.new(raw, b"purpose:" + purpose.encode(), hashlib.sha256).digest()
    return hmac.new(purpose_key, NORMALISE(value).encode(), hashlib.sha256).hexdigest()[:32]


def test_the_prepared_hmac_gives_a_fresh_hmacs_digest_for_every_purpose():
    for purpose in PURPOSES:
        for value in (NIK, " 1704-0157.0890 0001 ", "+6281234567890", "Siti Nurhaliza ✓"):
            assert pii.blind_index(value, purpose=purpose) == fresh_index(value, purpose)
            # Twice: the copy leaves the prepared HMAC unfed.
            assert pii.blind_index(value, purpose=purpose) == fresh_index(value, purpose)
    assert pii.blind_index(NIK, purpose="nik") != pii.blind_index(NIK, purpose="kk")


def test_the_prepared_hmac_is_safe_across_threads():
    expected = {n: fresh_index(f"17040157089{n:05d}", "nik") for n in range(200)}
    found: dict[int, str] = {}
    errors: list[str] = []

    def index(start: int) -> None:
        for n in range(start, 200, 4):
            got = pii.blind_index(f"17040157089{n:05d}", purpose="nik")
            if got != expected[n]:
                errors.append(f"{n}: {got}")
            found[n] = got

    threads = [threading.Thread(target=index, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert found == expected


def test_one_aead_per_key_and_it_still_opens_values_sealed_under_an_older_key():
    with override_settings(FIELD_ENCRYPTION_KEYS=[TEST_FIELD_ENCRYPTION_KEY_OLD]):
        old = pii.encrypt(NIK)
        old_ring = pii.keyring()
    with override_settings(FIELD_ENCRYPTION_KEYS=[TEST_FIELD_ENCRYPTION_KEY, TEST_FIELD_ENCRYPTION_KEY_OLD]):
        ring = pii.keyring()
        assert pii.keyring() is ring  # kept, not rebuilt per value
        assert len(ring.ciphers) == 2
        assert ring.current is ring.ciphers[ring.current_id]
        assert ring.current_id != old_ring.current_id
        assert pii.token_key_id(old) == old_ring.current_id
        assert pii.decrypt(old) == NIK
        new = pii.encrypt(NIK)
        assert pii.token_key_id(new) == ring.current_id
        assert pii.decrypt(new) == NIK
        assert pii.decrypt_bytes(pii.encrypt_bytes(b"rows", context="job-1"), context="job-1") == b"rows"
        assert pii.keyring() is ring


def test_rotating_keys_in_settings_invalidates_the_caches():
    ring = pii.keyring()
    index = pii.blind_index(NIK, purpose="nik")
    token = pii.encrypt(NIK)
    other_blind = pii.generate_key()
    with override_settings(FIELD_ENCRYPTION_KEYS=[TEST_FIELD_ENCRYPTION_KEY_OLD]):
        rotated = pii.keyring()
        assert rotated is not ring
        assert pii.token_key_id(pii.encrypt(NIK)) == pii.key_id(pii._decode_key(TEST_FIELD_ENCRYPTION_KEY_OLD, "k"))
        assert pii.blind_index(NIK, purpose="nik") == index  # the index key did not change
    with override_settings(BLIND_INDEX_KEY=other_blind):
        moved = pii.blind_index(NIK, purpose="nik")
        assert moved == fresh_index(NIK, "nik", other_blind)
        assert moved != index
    # Back to the first settings: the same keys again, the same index and tokens that open.
    assert pii.blind_index(NIK, purpose="nik") == index
    assert pii.decrypt(token) == NIK
    assert pii.keyring().current_id == ring.current_id


def test_the_memo_indexes_a_value_once_per_purpose_and_ends_with_its_block(monkeypatch):
    calls: list[str] = []

    def counted(value: str) -> str:
        calls.append(value)
        return NORMALISE(value)

    monkeypatch.setattr(pii, "normalise", counted)
    with pii.blind_index_memo():
        first = pii.blind_index(NIK, purpose="nik")
        assert pii.blind_index(NIK, purpose="nik") == first
        assert pii.blind_index(NIK, purpose="kk") == fresh_index(NIK, "kk")
        with pii.blind_index_memo():  # nested: the outer memo serves
            assert pii.blind_index(NIK, purpose="nik") == first
        memo = pii._memo.get()
        assert memo is not None
        assert len(memo.entries) == 2
        assert NIK not in repr(memo)
    assert calls == [NIK, NIK]  # once for "nik", once for "kk"
    assert pii._memo.get() is None
    assert memo.entries == {}  # emptied when the block ended
    assert pii.blind_index(NIK, purpose="nik") == first
    assert calls == [NIK, NIK, NIK]  # outside a block nothing is remembered


def test_the_memo_is_bounded():
    with pii.blind_index_memo(limit=5):
        memo = pii._memo.get()
        assert memo is not None
        for n in range(20):
            value = f"17040157089{n:05d}"
            assert pii.blind_index(value, purpose="nik") == fresh_index(value, "nik")
        assert len(memo.entries) == 5
        # Past its limit it still answers right, without remembering.
        assert pii.blind_index("1704015708900019", purpose="nik") == fresh_index("1704015708900019", "nik")
        assert len(memo.entries) == 5
    assert pii.MEMO_LIMIT == 10_000


def test_the_memo_follows_a_key_change_and_stays_out_of_cache_and_logs(caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    cached: list[str] = []
    for name in ("get", "set", "add", "get_many", "set_many", "get_or_set"):
        monkeypatch.setattr(type(caches["default"]), name, lambda *args, _name=name, **kwargs: cached.append(_name))
    other_blind = pii.generate_key()
    with pii.blind_index_memo():
        index = pii.blind_index(NIK, purpose="nik")
        with override_settings(BLIND_INDEX_KEY=other_blind):
            assert pii.blind_index(NIK, purpose="nik") == fresh_index(NIK, "nik", other_blind)
        assert pii.blind_index(NIK, purpose="nik") == index
        memo = pii._memo.get()
        assert memo is not None
        assert list(memo.entries) == [("nik", NIK)]
        assert memo.entries[("nik", NIK)] == index
    assert NIK not in caplog.text
    assert index not in caplog.text
    assert cached == []  # Django's cache (Redis in production) never sees the memo


def test_tokens_keep_their_format_both_ways():
    """encrypt and decrypt do base64url by hand: tokens stay what base64's module makes and reads."""
    import base64
    import os

    ring = pii.keyring()
    nonce = os.urandom(12)
    sealed = ring.current.encrypt(nonce, NIK.encode(), None)
    by_the_module = ring.current_id + "." + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
    assert pii.decrypt(by_the_module) == NIK
    for text in (NIK, "Ibu Siti ✓", "x" * 61):  # every padding length
        kid, body = pii.encrypt(text).split(".")
        assert kid == ring.current_id
        assert set(body) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        assert ring.current.decrypt(raw[:12], raw[12:], None).decode() == text
    with pytest.raises(pii.DecryptionError):
        pii.decrypt(ring.current_id + ".ébc")
