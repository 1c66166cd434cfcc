"""Fixed test keys for personal-data encryption (config/pii.py), loaded as a pytest plugin
(`-p tests.pii_keys` in pyproject) before Django reads its settings. An environment that sets its
own keys keeps them. These keys are public: tests only."""

import os

TEST_FIELD_ENCRYPTION_KEY = "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5LTA="
TEST_FIELD_ENCRYPTION_KEY_OLD = "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5LTE="
TEST_BLIND_INDEX_KEY = "dGVzdC1vbmx5LWJsaW5kLWluZGV4LWtleS0wMTIzNDU="

os.environ.setdefault("FIELD_ENCRYPTION_KEYS", TEST_FIELD_ENCRYPTION_KEY)
os.environ.setdefault("BLIND_INDEX_KEY", TEST_BLIND_INDEX_KEY)
