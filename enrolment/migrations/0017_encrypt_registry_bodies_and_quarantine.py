# Personal data at rest: the frozen registry request bodies and the records a device pushed that
# wait in quarantine are encrypted under the first FIELD_ENCRYPTION_KEYS key. This file's own copy
# of the token format (config/pii.py as it was when this was written), raw SQL in batches; values
# already holding tokens (a rerun) are left alone.

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
        if text == "":
            return ""
        nonce = os.urandom(12)
        sealed = cipher.encrypt(nonce, text.encode("utf-8"), None)
        return kid + "." + base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")

    connection = schema_editor.connection
    for table, column, key_column, as_json in (
        ("enrolment_registrybatch", "payload", "id", False),
        ("enrolment_syncquarantine", "record", "id", True),
    ):
        last = None
        while True:
            with connection.cursor() as cursor:
                where = f"WHERE {key_column} > %s " if last is not None else ""
                cursor.execute(
                    f"SELECT {key_column}, {column} FROM {table} {where}ORDER BY {key_column} LIMIT {BATCH}",  # noqa: S608
                    [last] if last is not None else [],
                )
                rows = cursor.fetchall()
            if not rows:
                break
            last = rows[-1][0]
            updates = []
            for row_key, value in rows:
                text = value if isinstance(value, str) else json.dumps(value)
                if text is None or is_token(text):
                    continue
                if as_json:
                    text = json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
                updates.append((encrypt(text), row_key))
            if updates:
                with connection.cursor() as cursor:
                    cursor.executemany(f"UPDATE {table} SET {column} = %s WHERE {key_column} = %s", updates)  # noqa: S608


class Migration(migrations.Migration):
    dependencies = [
        ("enrolment", "0016_import_invalid_rows_file"),
    ]

    operations = [
        migrations.AlterField(
            model_name="registrybatch", name="payload", field=config.pii.EncryptedTextField(blank=True)
        ),
        migrations.AlterField(model_name="syncquarantine", name="record", field=config.pii.EncryptedJSONField()),
        migrations.RunPython(encrypt_rows, elidable=False),
    ]
