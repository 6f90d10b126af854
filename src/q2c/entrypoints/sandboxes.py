"""The sandboxes `q2c sandbox NAME` can run, with the vendor's documented limits when asked."""

from __future__ import annotations

from q2c.connectors.sandbox_kit import Faults, Sandbox, VendorLimits

SANDBOX_NAMES = ("salesforce", "harvest", "netsuite")


def make_sandbox(name: str, *, faults: Faults, vendor_limits: bool = False) -> Sandbox:
    if name == "salesforce":
        from q2c.connectors.salesforce.sandbox import create_sandbox as salesforce

        return salesforce(faults)
    if name == "harvest":
        from q2c.connectors.harvest.sandbox import HARVEST_LIMITS
        from q2c.connectors.harvest.sandbox import create_sandbox as harvest

        return harvest(faults, limits=HARVEST_LIMITS if vendor_limits else VendorLimits())
    if name == "netsuite":
        from q2c.connectors.netsuite.sandbox import create_sandbox as netsuite

        return netsuite(faults, concurrency_limit=5 if vendor_limits else 1000)
    raise ValueError(f"unknown sandbox {name!r}; allowed: {', '.join(SANDBOX_NAMES)}")
