"""config/pii.py: tokens, key rotation, the blind index, key checks."""

import base64
import json
import stat

import pytest
from django.core.exceptions import FieldError, ImproperlyConfigured

from config import pii
from tests.pii_keys import TEST_BLIND_INDEX_KEY, TEST_FIELD_ENCRYPTION_KEY, TEST_FIELD_ENCRYPTION_KEY_OLD

NIK = "1704015708900001"


def test_round_trip_is_authenticated_and_randomised():
    first, second = pii.encrypt(NIK), pii.encrypt(NIK)
    assert first != second
    assert NIK not in first
    assert pii.decrypt(first) == pii.decrypt(second) == NIK
    assert pii.encrypt("") == ""
    assert pii.decrypt("") == ""
    assert pii.decrypt(pii.encrypt("Siti Nurhaliza ✓")) == "Siti Nurhaliza ✓"
    kid, body = first.split(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[-1] ^= 1
    tampered = kid + "." + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(pii.DecryptionError):
        pii.decrypt(tampered)
    with pytest.raises(pii.DecryptionError):
        pii.decrypt(NIK)


def test_the_first_key_encrypts_and_every_key_decrypts(settings):
    settings.FIELD_ENCRYPTION_KEYS = [TEST_FIELD_ENCRYPTION_KEY_OLD]
    old = pii.encrypt(NIK)
    settings.FIELD_ENCRYPTION_KEYS = [TEST_FIELD_ENCRYPTION_KEY, TEST_FIELD_ENCRYPTION_KEY_OLD]
    assert not pii.is_current(old)
    assert pii.decrypt(old) == NIK
    new = pii.reencrypt_token(old)
    assert pii.is_current(new)
    assert pii.decrypt(new) == NIK
    assert pii.reencrypt_token(new) == new
    settings.FIELD_ENCRYPTION_KEYS = [TEST_FIELD_ENCRYPTION_KEY]
    assert pii.decrypt(new) == NIK
    with pytest.raises(pii.DecryptionError):
        pii.decrypt(old)


def test_blind_index_is_keyed_normalised_and_per_purpose(settings):
    index = pii.blind_index(NIK, purpose="nik")
    assert len(index) == 32
    assert NIK not in index
    assert pii.blind_index(" 1704-0157.0890 0001 ", purpose="nik") == index
    assert pii.blind_index(NIK, purpose="kk") != index
    assert pii.blind_index("\uff21\uff22\uff23", purpose="name") == pii.blind_index("abc", purpose="name")
    assert pii.blind_index("  ", purpose="nik") == ""
    # Rotating the encryption keys leaves the index alone; another index key moves it.
    settings.FIELD_ENCRYPTION_KEYS = [TEST_FIELD_ENCRYPTION_KEY_OLD]
    assert pii.blind_index(NIK, purpose="nik") == index
    settings.BLIND_INDEX_KEY = pii.generate_key()
    assert pii.blind_index(NIK, purpose="nik") != index


@pytest.mark.parametrize(
    ("keys", "blind", "message"),
    [
        ([], TEST_BLIND_INDEX_KEY, "FIELD_ENCRYPTION_KEYS is not set"),
        ([TEST_FIELD_ENCRYPTION_KEY], "", "BLIND_INDEX_KEY is not set"),
        (["short"], TEST_BLIND_INDEX_KEY, "FIELD_ENCRYPTION_KEYS: every key must be 32 random bytes"),
        ([TEST_FIELD_ENCRYPTION_KEY], "not base64!", "BLIND_INDEX_KEY: every key must be 32 random bytes"),
        ([TEST_FIELD_ENCRYPTION_KEY], TEST_FIELD_ENCRYPTION_KEY, "must not be one of"),
    ],
)
def test_missing_or_malformed_keys_are_named(settings, keys, blind, message):
    settings.FIELD_ENCRYPTION_KEYS = keys
    settings.BLIND_INDEX_KEY = blind
    with pytest.raises(ImproperlyConfigured, match=message):
        pii.validate_keys()
    [error] = pii.check_keys()
    assert error.id == "config.E013"
    assert message in error.msg


def test_embedded_demo_makes_its_keys_once(tmp_path):
    path = tmp_path / "var" / "pii-keys.json"
    keys, blind = pii.embedded_keys(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pii.embedded_keys(path) == (keys, blind)
    assert json.loads(path.read_text()) == {"FIELD_ENCRYPTION_KEYS": keys, "BLIND_INDEX_KEY": blind}
    pii.Keyring.from_values(keys, blind)


def test_fields_store_tokens_and_refuse_value_lookups():
    field = pii.EncryptedTextField()
    field.set_attributes_from_name("nik")
    token = field.get_prep_value(NIK)
    assert token != NIK
    assert field.from_db_value(token, None, None) == NIK
    assert field.get_prep_value("") == ""
    assert field.get_prep_value(None) is None
    heirs = [{"name": "Ani", "nik": NIK, "phone": "+6281234567890"}]
    json_field = pii.EncryptedJSONField()
    stored = json_field.get_prep_value(heirs)
    assert NIK not in stored
    assert json_field.from_db_value(stored, None, None) == heirs
    assert field.get_lookup("icontains") is None
    assert field.get_lookup("isnull") is not None
    lookup = field.get_lookup("exact")
    with pytest.raises(FieldError, match="blind index"):
        lookup(_Column(field), NIK)
    assert lookup(_Column(field), "").rhs == ""


class _Column:
    """Just enough of a column expression for a lookup's constructor."""

    def __init__(self, field):
        self.output_field = field

    def get_transform(self, name):
        return None
