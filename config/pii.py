"""Personal data at rest: authenticated encryption, a keyed blind index, and the model fields.

Keys (settings, from the environment; API.md "Privacy"):
- FIELD_ENCRYPTION_KEYS: a list of keys, each 32 random bytes in URL-safe base64 (the Fernet key
  format). The first encrypts; every one decrypts, so a new key goes first and the old one stays
  until `manage.py reencrypt` has rewritten every row under the new one.
- BLIND_INDEX_KEY: one such key, separate from the encryption keys (a leaked index key must not
  decrypt anything, and rotating the encryption keys must not move the indexes).

A token is `<key id>.<base64url(nonce || AES-256-GCM ciphertext and tag)>`: the key id (8
characters derived from the key, never the key) says which key decrypts it without trying them
all, and tells `reencrypt` which rows are already under the first key. The empty string stays
the empty string: "nothing recorded" is not personal data, and the database's checks and the
rules ("no NIK yet") keep reading it.

The blind index is HMAC-SHA256 under a per-purpose key derived from BLIND_INDEX_KEY, over the
normalised value (Unicode NFKC, case folded, spaces, dots and dashes removed), truncated to 128
bits (hex): equal values give equal indexes within a purpose, nothing else can be learnt from it
without the key, and an index of one purpose never matches another's.

Cost (bench/pii_overhead.py: within 15 % of the same code without encryption). What is per key,
not per value, is made once per key set and kept with it in the Keyring: the AES-GCM object of
each key, and per blind-index purpose the HMAC already keyed with that purpose's key (each index
copies it and hashes the value: the same digest as a fresh HMAC, without deriving the purpose key
and scheduling the HMAC key again). The keyring itself is kept until Django says a key setting
changed (the `setting_changed` signal: override_settings, pytest-django's `settings`), so a value
does not pay for reading two settings. A save of many records opens `blind_index_memo()` (villages/
upsert.py's records_save): there the same value is indexed once for a purpose, not once per use
(the NIK lock, the duplicate finder's keys, the row's own index column). The memo is a dict in this
process's memory, bounded, dropped when the save ends; never in Redis or Django's cache, never logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core import checks
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import setting_changed
from django.db import models
from django.db.models import lookups

KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID_LENGTH = 8
BLIND_INDEX_LENGTH = 32  # hex characters: 128 bits
SEPARATOR = "."


class DecryptionError(ValueError):
    """A token that no configured key opens (unknown key id, tampered, or not a token at all)."""


def generate_key() -> str:
    """A new key in the format FIELD_ENCRYPTION_KEYS and BLIND_INDEX_KEY take."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def _decode_key(value: str, name: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(value.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise ImproperlyConfigured(
            f"{name}: every key must be {KEY_BYTES} random bytes in URL-safe base64 (44 characters); "
            f"make one with: python -c 'import base64,os;print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"
        )
    return raw


def key_id(key: bytes) -> str:
    """8 characters that name a key without revealing it."""
    digest = hmac.new(key, b"key-id", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:KEY_ID_LENGTH]


@dataclass(frozen=True, eq=False)
class Keyring:
    current_id: str
    ciphers: dict[str, AESGCM]
    blind_key: bytes
    # Per purpose, an HMAC-SHA256 keyed with the purpose's key and fed nothing: blind_index copies
    # it (never updates it, so concurrent copies are safe). Made on first use of a purpose.
    _purpose_macs: dict[str, hmac.HMAC] = field(default_factory=dict, repr=False)
    current: AESGCM = field(init=False, repr=False)  # the first key's AEAD: the one that encrypts

    def __post_init__(self) -> None:
        object.__setattr__(self, "current", self.ciphers[self.current_id])

    def purpose_mac(self, purpose: str) -> hmac.HMAC:
        """The prepared HMAC of a blind-index purpose (see blind_index)."""
        mac = self._purpose_macs.get(purpose)
        if mac is None:
            purpose_key = hmac.new(self.blind_key, b"purpose:" + purpose.encode("utf-8"), hashlib.sha256).digest()
            mac = self._purpose_macs.setdefault(purpose, hmac.new(purpose_key, digestmod=hashlib.sha256))
        return mac

    @classmethod
    def from_values(cls, encryption_keys: list[str] | tuple[str, ...], blind_index_key: str) -> Keyring:
        keys = [k for k in (k.strip() for k in encryption_keys) if k]
        if not keys:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS is not set: personal data (NIK, No. KK, phones, heirs) is stored "
                "encrypted and the service cannot start without its keys (comma-separated, the first "
                "encrypts, all decrypt)."
            )
        if not blind_index_key.strip():
            raise ImproperlyConfigured(
                "BLIND_INDEX_KEY is not set: exact-match lookups of personal data (NIK uniqueness, search "
                "by NIK) need it, and it must differ from every FIELD_ENCRYPTION_KEYS key."
            )
        raw_keys = [_decode_key(k, "FIELD_ENCRYPTION_KEYS") for k in keys]
        blind = _decode_key(blind_index_key, "BLIND_INDEX_KEY")
        if blind in raw_keys:
            raise ImproperlyConfigured("BLIND_INDEX_KEY must not be one of the FIELD_ENCRYPTION_KEYS.")
        ciphers: dict[str, AESGCM] = {}
        for raw in raw_keys:
            ciphers.setdefault(key_id(raw), AESGCM(raw))
        return cls(current_id=key_id(raw_keys[0]), ciphers=ciphers, blind_key=blind)


_lock = threading.Lock()
_cache: dict[tuple[tuple[str, ...], str], Keyring] = {}
# The keyring of the current settings, until a key setting changes (_forget_keyring): the hot path
# of every token and index reads this instead of two settings.
_current: Keyring | None = None
_generation = 0  # how many key setting changes: a keyring read before one is not kept after it
KEY_SETTINGS = frozenset({"FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY"})


def keyring() -> Keyring:
    """The keys of the current settings (cached per key set, so tests that override them work)."""
    global _current
    ring = _current
    if ring is not None:
        return ring
    generation = _generation
    encryption_keys = tuple(settings.FIELD_ENCRYPTION_KEYS)
    blind = settings.BLIND_INDEX_KEY
    cache_key = (encryption_keys, blind)
    with _lock:
        ring = _cache.get(cache_key)
        if ring is None:
            ring = Keyring.from_values(list(encryption_keys), blind)
            _cache.clear()
            _cache[cache_key] = ring
        if generation == _generation:
            _current = ring
    return ring


def _forget_keyring(*, setting: str, **kwargs: Any) -> None:
    """A key setting changed (only tests change settings at run time, through override_settings):
    the next token or index reads the settings again; a memo made under the old keys is dropped
    at its next use (blind_index compares its keyring)."""
    global _current, _generation
    if setting in KEY_SETTINGS:
        with _lock:
            _generation += 1
            _current = None
            _cache.clear()


setting_changed.connect(_forget_keyring, dispatch_uid="config.pii.forget_keyring")


def validate_keys() -> None:
    """Raises ImproperlyConfigured with a clear message when the keys are missing or malformed."""
    keyring()


def embedded_keys(path: Path) -> tuple[list[str], str]:
    """The embedded demo's own keys, made on first use and kept in `path` (owner-only)."""
    if path.exists():
        stored = json.loads(path.read_text())
        return list(stored["FIELD_ENCRYPTION_KEYS"]), str(stored["BLIND_INDEX_KEY"])
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = {"FIELD_ENCRYPTION_KEYS": [generate_key()], "BLIND_INDEX_KEY": generate_key()}
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(keys, handle)
    return list(keys["FIELD_ENCRYPTION_KEYS"]), str(keys["BLIND_INDEX_KEY"])


# --- Encryption ------------------------------------------------------------------------------------


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def encrypt(text: str) -> str:
    """A token for `text` under the first key ('' stays '')."""
    if text == "":
        return ""
    ring = keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = ring.current.encrypt(nonce, text.encode("utf-8"), None)
    # base64.urlsafe_b64encode's own steps, without its two Python-level calls per token.
    body = binascii.b2a_base64(nonce + sealed, newline=False).translate(_TO_URLSAFE).rstrip(b"=")
    return ring.current_id + SEPARATOR + body.decode("ascii")


def token_key_id(token: str) -> str:
    """The id of the key a token was made with ('' for the empty string)."""
    return token.split(SEPARATOR, 1)[0] if token else ""


def is_current(token: str) -> bool:
    """Whether a token is already under the first key (or empty): what `reencrypt` skips."""
    return token == "" or token_key_id(token) == keyring().current_id


def decrypt(token: str) -> str:
    """The text of a token made by `encrypt` under any configured key; DecryptionError otherwise."""
    if token == "":
        return ""
    kid, sep, body = token.partition(SEPARATOR)
    cipher = keyring().ciphers.get(kid)
    if not sep or cipher is None:
        raise DecryptionError("not a token of any configured key")
    try:
        # base64.urlsafe_b64decode's own steps (non-ASCII is a UnicodeEncodeError: a ValueError).
        raw = binascii.a2b_base64(body.encode("ascii").translate(_FROM_URLSAFE) + b"=" * (-len(body) % 4))
        return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None).decode("utf-8")
    except (InvalidTag, binascii.Error, ValueError) as problem:
        raise DecryptionError("the token does not open under its key") from problem


def reencrypt_token(token: str) -> str:
    """The same text under the first key (unchanged when it already is)."""
    return token if is_current(token) else encrypt(decrypt(token))


# --- Blind index -----------------------------------------------------------------------------------

_IGNORED = re.compile(r"[\s.\-_/()]+")


def normalise(value: str) -> str:
    """What the index sees: NFKC, case folded, without spaces, dots, dashes, slashes, brackets."""
    return _IGNORED.sub("", unicodedata.normalize("NFKC", value).casefold())


def blind_index(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of the normalised value under the purpose's key, as 32 hex characters
    ('' for a value that normalises to nothing: no index for "nothing recorded").
    Inside `blind_index_memo()` a (purpose, value) already indexed there is answered from it."""
    ring = keyring()
    memo = _memo.get()
    if memo is not None:
        if memo.ring is not ring:  # the keys changed since the memo was filled
            memo.reset(ring)
        found = memo.entries.get((purpose, value))
        if found is not None:
            return found
    normalised = normalise(value)
    if normalised:
        mac = ring.purpose_mac(purpose).copy()
        mac.update(normalised.encode("utf-8"))
        index = mac.hexdigest()[:BLIND_INDEX_LENGTH]
    else:
        index = ""
    if memo is not None and len(memo.entries) < memo.limit:
        memo.entries[(purpose, value)] = index
    return index


MEMO_LIMIT = 10_000  # entries: a bulk request of 1,000 workers needs about 5,000


class _Memo:
    """The indexes made inside one `blind_index_memo()` block, by (purpose, value). Its keys are
    personal data: it lives in this process's memory only, is bounded (full, it stops adding),
    is emptied when its block ends and has no repr of its contents."""

    __slots__ = ("entries", "limit", "ring")

    def __init__(self, ring: Keyring | None, limit: int) -> None:
        self.ring, self.limit = ring, limit
        self.entries: dict[tuple[str, str], str] = {}

    def reset(self, ring: Keyring | None) -> None:
        self.ring = ring
        self.entries.clear()

    def __repr__(self) -> str:
        return f"<blind index memo: {len(self.entries)} of {self.limit}>"


_memo: ContextVar[_Memo | None] = ContextVar("config.pii.blind_index_memo", default=None)


@contextmanager
def blind_index_memo(limit: int = MEMO_LIMIT) -> Iterator[None]:
    """Within the block, each (purpose, value) is indexed once (see the module's "Cost"). Nested
    blocks share the outermost one's memo. Per thread and per asyncio task (a context variable)."""
    if _memo.get() is not None:
        yield
        return
    memo = _Memo(None, limit)
    token = _memo.set(memo)
    try:
        yield
    finally:
        _memo.reset(token)
        memo.entries.clear()


# --- Model fields ----------------------------------------------------------------------------------

_ALLOWED_LOOKUPS = {"isnull"}


class _EmptyOnlyExact(lookups.Exact):
    """`field=''` (nothing recorded) works; any other value would compare against a random
    ciphertext and silently match nothing, so it is refused: look such values up by their blind
    index."""

    def get_prep_lookup(self) -> Any:
        if self.rhs not in ("", None) and not hasattr(self.rhs, "resolve_expression"):
            raise FieldError(f"{self.lhs.output_field.name} is encrypted: filter on its blind index, not its value.")
        return super().get_prep_lookup()


class _EncryptedMixin:
    """Shared by both fields: only `isnull` and `=''` are lookups; the value is a token in the
    database and plain in Python."""

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "exact":
            return _EmptyOnlyExact
        if lookup_name in _ALLOWED_LOOKUPS:
            return super().get_lookup(lookup_name)  # type: ignore[misc]
        return None

    def get_transform(self, lookup_name: str) -> Any:
        return None


class EncryptedField:
    """Marks the encrypted fields: writers that bypass the ORM's value conversion (config/bulk.py's
    COPY) ask `get_prep_value` for the token of these."""


class EncryptedTextField(EncryptedField, _EncryptedMixin, models.TextField):
    """Text encrypted at rest (a text column holding the token); '' stays ''."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return decrypt(value)

    def to_python(self, value: Any) -> Any:
        return value if value is None or isinstance(value, str) else str(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return encrypt(str(value))


class EncryptedJSONField(EncryptedField, _EncryptedMixin, models.TextField):
    """A JSON value (lists, objects) encrypted at rest as one token in a text column. The
    database cannot look inside it; nothing should."""

    # What django-stubs reads for a custom field's Python types: any JSON value, as JSONField.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def __init__(self, *args: Any, encoder: type[json.JSONEncoder] | None = None, **kwargs: Any) -> None:
        self.encoder = encoder or DjangoJSONEncoder
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.encoder is not DjangoJSONEncoder:
            kwargs["encoder"] = self.encoder
        return name, path, args, kwargs

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        text = decrypt(value)
        return json.loads(text) if text else None

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        if hasattr(value, "resolve_expression"):
            return value
        return encrypt(json.dumps(value, cls=self.encoder, separators=(",", ":"), ensure_ascii=False))

    def value_to_string(self, obj: Any) -> str:
        return json.dumps(self.value_from_object(obj), cls=self.encoder)

    def formfield(self, **kwargs: Any) -> Any:
        from django import forms

        return super().formfield(**{"form_class": forms.JSONField, "encoder": self.encoder, **kwargs})


class BlindIndexField(models.CharField):
    """The blind index of another field of the same row (`source`), under `purpose`: recomputed
    whenever the row is saved (Model.save, bulk_create, and config/bulk.py's writers), never
    edited. '' when the source is empty."""

    computed_on_save = True

    def __init__(self, *args: Any, source: str, purpose: str, **kwargs: Any) -> None:
        self.source, self.purpose = source, purpose
        kwargs.setdefault("max_length", BLIND_INDEX_LENGTH)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.update(source=self.source, purpose=self.purpose)
        for key, default in (("max_length", BLIND_INDEX_LENGTH), ("blank", True), ("default", ""), ("editable", False)):
            if kwargs.get(key, default) == default:
                kwargs.pop(key, None)
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = blind_index(getattr(model_instance, self.source) or "", purpose=self.purpose)
        setattr(model_instance, self.attname, value)
        return value


# --- Start-up check --------------------------------------------------------------------------------


@checks.register(checks.Tags.security)
def check_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """`manage.py check` (and every command that runs checks) names a missing or malformed key."""
    try:
        validate_keys()
    except ImproperlyConfigured as problem:
        return [checks.Error(str(problem), id="config.E013")]
    return []


# --- Files ---------------------------------------------------------------------------------------
# A file of personal data kept for a while (an import's upload, its invalid rows): the same keys,
# sealed whole. `context` (e.g. the job's id) is authenticated with it, so a file cannot be passed
# off as another's. `reencrypt` re-seals them through the providers the apps declare
# (config/reencrypt.py `encrypted_files`).
FILE_MAGIC = b"PII1"


def encrypt_bytes(data: bytes, *, context: str) -> bytes:
    """`PII1` + key id + nonce + AES-256-GCM(data) under the first key, `context` authenticated."""
    ring = keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = ring.current.encrypt(nonce, data, context.encode("utf-8"))
    return FILE_MAGIC + ring.current_id.encode("ascii") + nonce + sealed


def decrypt_bytes(blob: bytes, *, context: str) -> bytes:
    """The data `encrypt_bytes` sealed with this `context`; DecryptionError otherwise."""
    head = len(FILE_MAGIC)
    if blob[:head] != FILE_MAGIC:
        raise DecryptionError("not an encrypted file")
    kid = blob[head : head + KEY_ID_LENGTH].decode("ascii", errors="replace")
    cipher = keyring().ciphers.get(kid)
    if cipher is None:
        raise DecryptionError("not a file of any configured key")
    start = head + KEY_ID_LENGTH
    try:
        return cipher.decrypt(blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :], context.encode("utf-8"))
    except InvalidTag as problem:
        raise DecryptionError("the file does not open under its key") from problem


def bytes_key_id(blob: bytes) -> str:
    """The id of the key a file sealed by `encrypt_bytes` is under ('' when it is not one):
    what `reencrypt` reads, from the first bytes only, to find files under an old key."""
    head = len(FILE_MAGIC)
    if blob[:head] != FILE_MAGIC:
        return ""
    return blob[head : head + KEY_ID_LENGTH].decode("ascii", errors="replace")
