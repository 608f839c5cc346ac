"""The controller's slow loop: a network-wide channel and power plan every 4-24 h (issue 8).

Modules:

- ``interference_graph``: radios as nodes, measured mutual RSSI as couplings, unmanaged BSSs as
  external interference (``build_graph``).
- ``site_plan``: ``SitePlan`` (a channel, width and power per radio), ``plan_cost`` (the one
  documented objective) and the ``SlowLoopPolicy`` protocol every planner implements.
- ``spectral_overlap``: how much two (channel, width) choices overlap, as ``plan_cost`` counts it.
- ``dfs_cost``: CAC darkness, radar history and non-occupancy as ``plan_cost`` counts them.
- ``candidate_channels``: the legal (channel, width) choices of one radio.
- ``channel_colouring``: DSATUR start plus local search over ``plan_cost``.
- ``power_control``: neighbour-RSSI transmit power control (Cisco TPC, TIP ``measure_ap_ap``).
- ``heuristic_planner``: colouring + power control as a ``SlowLoopPolicy``.
- ``tip_unmanaged_aware``: TIP OpenWiFi RRM's default channel optimizer, as a baseline.
- ``static_plan``: the policy that keeps the current plan.
- ``policy_registry``: the policies by name.
- ``plan_execution``: staging, approval gating, observation windows and rollback of a plan.
"""
