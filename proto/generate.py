"""Regenerate the Python code for proto/rrm/v1 into rrm/v1 (committed; never edited by hand).

Run from the project root:  python proto/generate.py [--out DIR]
The output depends only on the .proto files and the pinned grpcio-tools / mypy-protobuf versions,
so tests/unit/test_wire_codegen.py regenerates into a temporary folder and compares.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"


def _plugin(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        raise SystemExit(f"proto/generate.py: {name} not found; install the dev extras (mypy-protobuf)")
    return found


def generate(out: Path) -> list[Path]:
    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}",
        f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("proto/generate.py: protoc failed")
    return sorted(p for p in (out / "rrm" / "v1").glob("*_pb2*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT, help="root to write rrm/v1/*_pb2* under")
    ns = parser.parse_args()
    for path in generate(ns.out):
        print(path)


if __name__ == "__main__":
    main()
