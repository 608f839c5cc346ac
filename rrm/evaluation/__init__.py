"""Evaluations behind `rrm eval`: the agent's choices against a baseline, in the simulator, as JSON figures.

They report figures; tests assert structure and rules (such as "never dark when avoidable"), never
quality thresholds.
"""
