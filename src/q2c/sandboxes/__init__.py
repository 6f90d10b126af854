"""Vendor sandboxes: small servers that speak each vendor's wire protocol for the subset q2c uses.

One folder per vendor, apart from the connectors: a sandbox re-derives the vendor's protocol from its
documentation, so a test of connector against sandbox can fail when either side is wrong. `kit`
wraps every sandbox with fault injection and the vendor's limits; `registry` finds them by name.
"""
