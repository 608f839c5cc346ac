"""The simulated radio world: a seeded, deterministic building of APs, clients and interferers.

Modules, one idea each:
    scenario (+ scenario_model, scenario_context, scenario_parsing, with rrm.strict_fields,
        scenario_timeline): the scenario file format and its validation.
    propagation, spectrum, phy, airtime, medium, downlink, association, qoe: the radio physics
        (each cites the section of ../shared/facts/rf-model.md it follows).
    evaluation: one vectorised evaluation of the whole network.
    sim_radio, dfs, world_layout, transmitter_table, world_happenings, world_events, steering,
        radio_observation: the parts of the world.
    world: SimWorld, the world itself (pure, virtual time).
    driver, runner: SimDriver (drivers.protocol.RadioDriver) and WorldRunner (steps with a clock).
"""
