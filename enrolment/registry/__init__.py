"""Sync with the central registry (BPJSTK): the outbox of batches, the client, the Celery tasks,
the operators' API and the nightly reconciliation. REGISTRY.md is the protocol."""
