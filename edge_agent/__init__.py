"""The edge agent: driver events and telemetry in, local actions, a durable outbox, the controller link."""
