"""A stand-in for BPJSTK's central registry (see /work/shared/REGISTRY.md), standard library only.

Run it with `python -m registry_stub`, or in-process with `registry_stub.server.start_in_thread`.
"""
