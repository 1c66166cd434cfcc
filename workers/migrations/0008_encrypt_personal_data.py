# Personal data at rest, step 2 of 3: every stored NIK, No. KK, phone, mother's maiden name and
# heirs list is encrypted under the first FIELD_ENCRYPTION_KEYS key, and the blind indexes are
# filled. Raw SQL in batches and this file's own copy of the token format and the index
# (config/pii.py as it was when this was written): a later change of that module must not change
# what this applied migration does. Rows already holding tokens (a rerun) are left alone.

import base64
import hashlib
import hmac
import json
import os
import re
import unicodedata

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import migrations

BATCH = 2000
COLUMNS = ("nik", "kk_number", "phone", "mother_maiden_name", "heirs")
INDEXES = (("nik_bi", "nik", "nik"), ("kk_bi", "kk_number", "kk"), ("phone_bi", "phone", "phone"))
_IGNORED = re.compile(r"[\s.\-_/()]+")


def _key(value):
    return base64.urlsafe_b64decode(value.strip().encode("ascii"))


def _key_id(key):
    return base64.urlsafe_b64encode(hmac.new(key, b"key-id", hashlib.sha256).digest()).decode("ascii")[:8]


def _blind_index(blind_key, value, purpose):
    normalised = _IGNORED.sub("", unicodedata.normalize("NFKC", value).casefold())
    if not normalised:
        return ""
    purpose_key = hmac.new(blind_key, b"purpose:" + purpose.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(purpose_key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def encrypt_rows(apps, schema_editor):
    key = _key(settings.FIELD_ENCRYPTION_KEYS[0])
    kid, cipher = _key_id(key), AESGCM(key)
    known_ids = {_key_id(_key(k)) for k in settings.FIELD_ENCRYPTION_KEYS if k.strip()}
    blind_key = _key(settings.BLIND_INDEX_KEY)

    def is_token(text):
        return text == "" or (text[8:9] == "." and text[:8] in known_ids)

    def encrypt(text):
        if text == "":
            return ""
        nonce = os.urandom(12)
        sealed = cipher.encrypt(nonce, text.encode("utf-8"), None)
        return kid + "." + base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")

    connection = schema_editor.connection
    placeholder = "%s"
    last = ""
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, nik, kk_number, phone, mother_maiden_name, heirs FROM workers_worker"
                f" WHERE id > {placeholder} ORDER BY id LIMIT {BATCH}",
                [last],
            )
            rows = cursor.fetchall()
        if not rows:
            return
        last = rows[-1][0]
        updates = []
        for row_id, nik, kk, phone, mother, heirs in rows:
            nik, kk, phone, mother = nik or "", kk or "", phone or "", mother or ""
            if is_token(nik) and is_token(kk) and is_token(phone) and is_token(mother) and is_token(heirs or ""):
                continue  # already done (a rerun after an interruption)
            heirs_text = heirs if isinstance(heirs, str) else json.dumps(heirs or [])
            plain = {"nik": nik, "kk_number": kk, "phone": phone}
            updates.append(
                (
                    encrypt(nik),
                    encrypt(kk),
                    encrypt(phone),
                    encrypt(mother),
                    encrypt(json.dumps(json.loads(heirs_text or "[]"), separators=(",", ":"), ensure_ascii=False)),
                    *(_blind_index(blind_key, plain[source], purpose) for _name, source, purpose in INDEXES),
                    row_id,
                )
            )
        if updates:
            with connection.cursor() as cursor:
                cursor.executemany(
                    "UPDATE workers_worker SET nik = %s, kk_number = %s, phone = %s, mother_maiden_name = %s,"
                    " heirs = %s, nik_bi = %s, kk_bi = %s, phone_bi = %s WHERE id = %s",
                    updates,
                )


class Migration(migrations.Migration):
    dependencies = [
        ("workers", "0007_personal_data_columns"),
    ]

    # Irreversible on purpose: decrypting every row back into plaintext columns is not a step
    # anyone should take by accident.
    operations = [migrations.RunPython(encrypt_rows, elidable=False)]
