"""The central controller: ingest, per-radio state, the loops, guardrails, approvals and audit."""
