"""Radar pulse traces for the HIL rig: the trace format, a waveform generator and the radio's detector.

- ``trace_format``: the ``rrm-pulse-trace`` v1 JSON Lines format, read and written strictly.
- ``waveforms`` / ``negatives`` / ``generator``: FCC, ETSI and JP test waveforms as data
  (../shared/facts/dfs.md sections 1-3), non-radar negatives, and a seeded generator with impairments.
- ``radar_specs`` / ``pri_detector`` / ``pattern_detector``: the region-aware PRI-sequence detector
  the emulated radio runs, written from the description in dfs.md section 4.
- ``replay``: feeds a trace to a detector in virtual or real time.
"""
