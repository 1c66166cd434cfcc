# Personal data at rest: a claim's heirs (names, NIKs, phones, often children's) are encrypted
# under the first FIELD_ENCRYPTION_KEYS key, like the worker's heirs they are copied from. The
# column becomes text (jsonb's text form), then every row is rewritten in batches with this file's
# own copy of the token format (config/pii.py as it was when this was written); a value already
# holding a token (a rerun) is left alone.

import base64
import hashlib
import hmac
import json
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import migrations

import config.pii

BATCH = 200


def _key(value):
    return base64.urlsafe_b64decode(value.strip().encode("ascii"))


def _key_id(key):
    return base64.urlsafe_b64encode(hmac.new(key, b"key-id", hashlib.sha256).digest()).decode("ascii")[:8]


def encrypt_rows(apps, schema_editor):
    key = _key(settings.FIELD_ENCRYPTION_KEYS[0])
    kid, cipher = _key_id(key), AESGCM(key)
    known_ids = {_key_id(_key(k)) for k in settings.FIELD_ENCRYPTION_KEYS if k.strip()}

    def is_token(text):
        return text == "" or (text[8:9] == "." and text[:8] in known_ids)

    def encrypt(text):
        nonce = os.urandom(12)
        sealed = cipher.encrypt(nonce, text.encode("utf-8"), None)
        return kid + "." + base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")

    connection = schema_editor.connection
    last = None
    while True:
        with connection.cursor() as cursor:
            where = "WHERE id > %s " if last is not None else ""
            cursor.execute(
                f"SELECT id, heirs FROM enrolment_claim {where}ORDER BY id LIMIT {BATCH}",  # noqa: S608
                [last] if last is not None else [],
            )
            rows = cursor.fetchall()
        if not rows:
            break
        last = rows[-1][0]
        updates = []
        for row_key, value in rows:
            if value is None:
                continue
            text = value if isinstance(value, str) else json.dumps(value)
            if is_token(text):
                continue
            updates.append((encrypt(json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)), row_key))
        if updates:
            with connection.cursor() as cursor:
                cursor.executemany("UPDATE enrolment_claim SET heirs = %s WHERE id = %s", updates)


class Migration(migrations.Migration):
    dependencies = [
        ("enrolment", "0018_sqlite_sync_triggers_again"),
    ]

    operations = [
        migrations.AlterField(
            model_name="claim", name="heirs", field=config.pii.EncryptedJSONField(blank=True, default=list)
        ),
        migrations.RunPython(encrypt_rows, elidable=False),
    ]
