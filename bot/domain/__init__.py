"""Pure rules of the accident-prevention service: no I/O, no framework imports (tests/test_domain_purity.py)."""
