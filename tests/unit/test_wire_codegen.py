"""The generated rrm.v1 code is exactly what proto/generate.py produces from the .proto files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_committed_generated_code_matches_a_fresh_generation(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "proto" / "generate.py"), "--out", str(tmp_path)], check=True)
    fresh = sorted((tmp_path / "rrm" / "v1").glob("*_pb2*"))
    assert fresh, "generation produced nothing"
    for path in fresh:
        committed = ROOT / "rrm" / "v1" / path.name
        assert committed.read_bytes() == path.read_bytes(), f"{committed} differs; run python proto/generate.py"


def test_field_numbers_are_never_reused() -> None:
    """Every message's field numbers are unique, and reserved numbers stay unused."""
    from rrm.v1 import agent_link_pb2 as pb

    for message in pb.DESCRIPTOR.message_types_by_name.values():
        numbers = [f.number for f in message.fields]
        assert len(numbers) == len(set(numbers)), message.full_name


def test_unknown_fields_are_tolerated() -> None:
    """A newer peer's extra field survives parsing by this version (versioning rule 3)."""
    from rrm.v1 import agent_link_pb2 as pb

    newer = pb.Heartbeat(outbox_depth=3).SerializeToString() + bytes([0xF8, 0x06, 0x01])  # field 111, varint 1
    parsed = pb.Heartbeat.FromString(newer)
    assert parsed.outbox_depth == 3
    assert parsed.SerializeToString() == newer
