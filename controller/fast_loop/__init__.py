"""The controller's fast loop: safe Bayesian optimisation of each radio's configuration (issue 7).

Modules, light to heavy (only ``encoding``, ``surrogate`` and ``optimizer`` import skopt, 1.1 s and
~128 MB, so nothing here is imported by the package itself):

- ``reward``: the radio's QoE figure, its penalties and ``reward = QoE - 0.3 * sum(penalties)``,
  the load context and ``prediction_error``.
- ``telemetry``: the loop's view of a radio (``LoopTelemetry``, ``RadioSnapshot``) and a cache
  with a 10 s refresh over the controller's telemetry windows.
- ``candidates``: the discrete configuration space of one radio (regulatory legal set intersected
  with the safe zone), as plain data.
- ``encoding``: the skopt ``Space`` that turns configurations and load into GP inputs.
- ``surrogate``: the GP (skopt's ``GaussianProcessRegressor`` with a grouped Matern 2.5 kernel),
  hyperparameters fitted on a schedule, a fixed-hyperparameter refit in between.
- ``exploration``: trust region, daily change budget, safety threshold, hysteresis, acquisition.
- ``history``: observations, the bounded window and the small learned state that is persisted.
- ``optimizer``: ``FastLoopOptimizer`` (ask/tell: ``propose(snapshot)`` / ``observe(...)``).
- ``channel_evidence``: the ACS-like prior: per-channel busy estimates from the neighbour scan;
  ``evidence_source`` builds it from the agents' wire samples.
- ``store``: SQLite persistence of observations, learned state, change times and the planner's
  state (``planner_state``: watched changes, due times, the change-id serial).
- ``planner``: ``ChangePlanner``, the pure loop (proposal -> guardrails -> ... -> keep or roll back).
- ``service``: ``FastLoopService``, the controller's shim around the planner (``--fast-loop``).
- ``period``: ``next_period_s``, the adaptive loop period.
- ``blas``: ``single_blas_thread()``, to call once after start (one BLAS thread, pitfall 7).
- ``synthetic``: a hidden QoE landscape for tests and ``rrm bench bo``.
"""
