"""Customer domain rules: plain Python, no I/O, no framework imports.

Modules: errors, credit_code, customer, dedup, ownership, access, sharing, pool, concurrency, merge.
"""
