"""Radio domain knowledge shared by the edge agent, the controller and the drivers.

Bands and radio configurations, the regulatory channel tables, event kinds, and the keyed
hashing that keeps client identifiers private. Pure data and pure functions, no I/O.
"""
