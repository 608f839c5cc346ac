"""Build the HIL guest from Debian packages, once, and cache it (../shared/facts/hil.md, section 1 and the recipe).

The guest is the Debian amd64 kernel booted by QEMU's PVH entry (an uncompressed `vmlinux` taken out
of the package's vmlinuz), plus a busybox initramfs that loads the virtio and 9p modules in
dependency order, mounts the host's `/` read-only over virtio-9p under a tmpfs overlay, mounts the
read-write results share and switches to the stage-2 script `guest_init.sh`. Nothing is installed on
the host: the kernel .deb is downloaded and extracted into the cache (`hil_tests/.build/`).
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import lzma
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CACHE = REPO_ROOT / "hil_tests" / ".build"
BUSYBOX = Path("/bin/busybox")
# Modules the initramfs needs; their dependencies come from modules.dep, loaded first (busybox insmod resolves none).
INITRAMFS_ROOT_MODULES = ("virtio_pci", "9pnet_virtio", "9p", "overlay", "virtio_console")
REQUIRED_TOOLS = {
    "qemu-system-x86_64": "qemu-system-x86",
    "cpio": "cpio",
    "depmod": "kmod",
    "dpkg-deb": "dpkg",
    "apt-get": "apt",
}
XEN_ELFNOTE_PHYS32_ENTRY = 18  # the PVH entry point note QEMU's -kernel looks for in an ELF image
BUILD_FORMAT = 1  # bump when the layout below changes, so old caches rebuild

INIT_SCRIPT = r"""#!/bin/busybox sh
# HIL guest stage 1 (hil_tests/rig/guest_build.py): host / read-only over 9p + tmpfs overlay, rw share at $hil_work.
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
for m in $(cat /mods/order); do insmod /mods/$m.ko || echo "hil-init: insmod $m failed"; done
mkdir -p /lower /ovl /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro /dev/root /lower || echo "hil-init: 9p root mount failed"
mount -t tmpfs -o size=${hil_overlay_mb:-192}m tmpfs /ovl; mkdir -p /ovl/u /ovl/w
mount -t overlay overlay -o lowerdir=/lower,upperdir=/ovl/u,workdir=/ovl/w /newroot
# A clean /tmp in the guest, but a repository checked out under the host's /tmp stays visible.
case "$hil_repo" in /tmp/*) mkdir -p /keep; mount --bind "/newroot$hil_repo" /keep;; esac
mount -t tmpfs tmpfs /newroot/run; mount -t tmpfs tmpfs /newroot/tmp
if [ -d /keep ]; then mkdir -p "/newroot$hil_repo"; mount --move /keep "/newroot$hil_repo"; fi
mkdir -p /newroot/lib/modules "/newroot$hil_work"
ln -sfn "$hil_kmods" "/newroot/lib/modules/$(uname -r)"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 hil "/newroot$hil_work" || echo "hil-init: rw share failed"
mount --move /dev /newroot/dev; mount --move /proc /newroot/proc; mount --move /sys /newroot/sys
exec switch_root /newroot "${hil_init:-/bin/sh}"
"""


class GuestBuildError(RuntimeError):
    """The guest could not be built; the message names what is missing."""


@dataclass(frozen=True)
class GuestImage:
    """A built guest: boot it with `guest.Guest`."""

    kernel_release: str
    vmlinux: Path
    initramfs: Path
    modules_dir: Path  # <kernel dir>/lib/modules/<release>, symlinked as the guest's /lib/modules/<release>
    modules_loaded: tuple[str, ...]  # the initramfs insmod order


def check_host_tools() -> None:
    """Raise GuestBuildError naming every missing tool and the Debian package that provides it."""
    missing = [f"{tool} (Debian package {pkg})" for tool, pkg in REQUIRED_TOOLS.items() if shutil.which(tool) is None]
    if not BUSYBOX.exists():
        missing.append(f"{BUSYBOX} (Debian package busybox-static)")
    elif _elf_interpreter(BUSYBOX.read_bytes()[:4096]):
        missing.append(f"a static {BUSYBOX} (Debian package busybox-static; the installed one is dynamic)")
    if missing:
        raise GuestBuildError("the HIL guest needs: " + ", ".join(missing))


def build_guest(cache: Path = DEFAULT_CACHE, kernel_release: str | None = None) -> GuestImage:
    """Build (or reuse from `cache`) the guest kernel and initramfs. Idempotent."""
    check_host_tools()
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:  # concurrent test sessions share the cache
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_locked(cache, kernel_release)


def _build_locked(cache: Path, kernel_release: str | None) -> GuestImage:
    release, kernel_dir = find_or_fetch_kernel(cache, kernel_release)
    modules_dir = kernel_dir / "lib" / "modules" / release
    out = cache / f"guest-{release}"
    out.mkdir(exist_ok=True)
    order = module_load_order(modules_dir, INITRAMFS_ROOT_MODULES)
    stamp = {
        "format": BUILD_FORMAT,
        "release": release,
        "order": order,
        "init": hashlib.sha256(INIT_SCRIPT.encode()).hexdigest(),
        "busybox": [BUSYBOX.stat().st_size, BUSYBOX.stat().st_mtime_ns],
    }
    vmlinux, initramfs, stamp_file = out / "vmlinux", out / "initramfs.cpio.gz", out / "build.json"
    fresh = vmlinux.exists() and initramfs.exists() and stamp_file.exists()
    if not fresh or json.loads(stamp_file.read_text()) != stamp:
        vmlinuz = kernel_dir / "boot" / f"vmlinuz-{release}"
        _write_atomic(vmlinux, extract_vmlinux(vmlinuz.read_bytes(), vmlinuz))
        _write_atomic(initramfs, build_initramfs(modules_dir, order))
        _write_atomic(stamp_file, json.dumps(stamp, indent=1).encode())
    return GuestImage(release, vmlinux, initramfs, modules_dir, tuple(order))


def find_or_fetch_kernel(cache: Path, release: str | None = None) -> tuple[str, Path]:
    """A kernel tree (boot/vmlinuz-R, lib/modules/R with modules.dep): installed, cached, or fetched with apt."""
    if release is None:
        for vmlinuz in sorted(Path("/boot").glob("vmlinuz-*-amd64"), reverse=True):
            rel = vmlinuz.name.removeprefix("vmlinuz-")
            if (Path("/lib/modules") / rel / "modules.dep").exists():
                return rel, Path("/")
        cached = sorted(p for p in cache.glob("kernel-*") if (p / ".complete").exists())
        if cached:
            return cached[-1].name.removeprefix("kernel-"), cached[-1]
        release = _apt_kernel_release()
    kernel_dir = cache / f"kernel-{release}"
    if (kernel_dir / ".complete").exists():
        return release, kernel_dir
    deb = _apt_download(cache / "debs", f"linux-image-{release}")
    tmp = cache / f".kernel-{release}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    _run(["dpkg-deb", "-x", str(deb), str(tmp)], "extracting the kernel package")
    _run(["depmod", "-b", str(tmp), release], "depmod over the extracted kernel")
    shutil.rmtree(kernel_dir, ignore_errors=True)
    tmp.rename(kernel_dir)
    (kernel_dir / ".complete").write_text(deb.name + "\n")
    deb.unlink()  # 70 MB, no longer needed once extracted
    return release, kernel_dir


def _apt_kernel_release() -> str:
    """The release apt offers for linux-image-amd64 (e.g. 6.1.0-57-amd64); the ABI number moves with updates."""

    def ask() -> list[str]:
        text = _run(["apt-cache", "depends", "linux-image-amd64"], "asking apt for the current amd64 kernel")
        return re.findall(r"Depends:\s*linux-image-(\S+-amd64)", text)

    found = ask()
    if not found and os.geteuid() == 0:  # a fresh machine may have no package lists yet
        _run(["apt-get", "update", "-qq"], "apt-get update (to find the kernel package)")
        found = ask()
    if not found:
        raise GuestBuildError(
            "apt offers no linux-image-amd64 (run `apt-get update`); no linux-image-*-amd64 is installed either"
        )
    return str(found[0])


def _apt_download(folder: Path, package: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob(f"{package}_*.deb"))
    if existing:
        return existing[-1]
    _run(["apt-get", "download", "-q", package], f"apt-get download {package}", cwd=folder)
    got = sorted(folder.glob(f"{package}_*.deb"))
    if not got:
        raise GuestBuildError(f"apt-get download {package} produced no .deb in {folder}")
    return got[-1]


def module_load_order(modules_dir: Path, roots: tuple[str, ...]) -> list[str]:
    """Module names (as insmod wants them) in load order: every dependency before its users, built-ins left out."""
    dep_file = modules_dir / "modules.dep"
    if not dep_file.exists():
        raise GuestBuildError(f"{dep_file} is missing (run depmod -b for this kernel)")
    deps: dict[str, list[str]] = {}
    for line in dep_file.read_text().splitlines():
        target, _, rest = line.partition(":")
        deps[_module_name(target)] = [_module_name(d) for d in rest.split()]
    builtin_file = modules_dir / "modules.builtin"
    builtin = {_module_name(p) for p in builtin_file.read_text().split()} if builtin_file.exists() else set()
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order or name in builtin:
            return
        if name not in deps:
            raise GuestBuildError(f"kernel module {name} is neither in {dep_file} nor built in")
        for dep in reversed(deps[name]):  # modules.dep lists the deepest dependency last
            visit(dep)
        order.append(name)

    for root in roots:
        visit(root.replace("-", "_"))
    return order


def _module_name(path: str) -> str:
    base = Path(path).name
    return re.sub(r"\.ko(\.(xz|gz|zst))?$", "", base).replace("-", "_")


def _module_file(modules_dir: Path, name: str) -> bytes:
    """The .ko bytes for a module, decompressed if the package ships it compressed."""
    for line in (modules_dir / "modules.dep").read_text().splitlines():
        target = line.partition(":")[0]
        if _module_name(target) != name:
            continue
        raw = (modules_dir / target).read_bytes()
        if target.endswith(".xz"):
            return lzma.decompress(raw)
        if target.endswith(".gz"):
            return gzip.decompress(raw)
        if target.endswith(".zst"):
            if shutil.which("zstd") is None:
                raise GuestBuildError(f"{target} is zstd-compressed and zstd is not installed (Debian package zstd)")
            return subprocess.run(["zstd", "-dc"], input=raw, capture_output=True, check=True).stdout
        return raw
    raise GuestBuildError(f"kernel module {name} not found under {modules_dir}")


def extract_vmlinux(vmlinuz: bytes, source: Path) -> bytes:
    """The uncompressed ELF kernel inside a bzImage (extract-vmlinux style); it must carry a PVH entry note."""
    candidates: list[tuple[int, Callable[[bytes], bytes]]] = [
        (vmlinuz.find(b"\xfd7zXZ\x00"), lambda b: lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(b)),
        (vmlinuz.find(b"\x1f\x8b\x08\x00"), lambda b: zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(b)),
    ]
    for offset, decompress in candidates:
        if offset < 0:
            continue
        try:
            elf = decompress(vmlinuz[offset:])
        except (lzma.LZMAError, zlib.error):
            continue
        if elf.startswith(b"\x7fELF"):
            if not has_pvh_note(elf):
                raise GuestBuildError(f"the kernel in {source} has no PVH entry note (needs CONFIG_PVH=y)")
            return elf
    raise GuestBuildError(f"found no xz or gzip ELF payload in {source} (only those compressions are supported)")


def has_pvh_note(elf: bytes) -> bool:
    """Whether a 64-bit little-endian ELF has the Xen PHYS32_ENTRY note QEMU uses for PVH boot."""
    phoff, phentsize, phnum = struct.unpack_from("<Q", elf, 0x20)[0], *struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack_from("<IIQQQQ", elf, phoff + i * phentsize)
        if p_type != 4:  # PT_NOTE
            continue
        pos, end = p_offset, p_offset + p_filesz
        while pos + 12 <= end:
            namesz, descsz, n_type = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12 : pos + 12 + namesz].rstrip(b"\0")
            if name == b"Xen" and n_type == XEN_ELFNOTE_PHYS32_ENTRY:
                return True
            pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    return False


def _elf_interpreter(head: bytes) -> bool:
    """Whether an ELF (its first 4 KiB) asks for a dynamic loader (PT_INTERP), i.e. is not static."""
    if not head.startswith(b"\x7fELF") or head[4] != 2:
        return False
    phoff, phentsize, phnum = struct.unpack_from("<Q", head, 0x20)[0], *struct.unpack_from("<HH", head, 0x36)
    return any(
        struct.unpack_from("<I", head, phoff + i * phentsize)[0] == 3
        for i in range(phnum)
        if phoff + (i + 1) * phentsize <= len(head)
    )


def build_initramfs(modules_dir: Path, order: list[str]) -> bytes:
    """A gzip'd newc cpio: busybox, /init and the modules in `order`, packed by the cpio tool."""
    with tempfile.TemporaryDirectory(prefix="hil-initramfs-") as tmp:
        root = Path(tmp)
        for d in ("bin", "dev", "proc", "sys", "mods", "lower", "ovl", "newroot"):
            (root / d).mkdir()
        shutil.copy2(BUSYBOX, root / "bin" / "busybox")
        (root / "init").write_text(INIT_SCRIPT)
        (root / "init").chmod(0o755)
        for name in order:
            (root / "mods" / f"{name}.ko").write_bytes(_module_file(modules_dir, name))
        (root / "mods" / "order").write_text("\n".join(order) + "\n")
        if os.geteuid() == 0:  # the kernel opens /dev/console for init before devtmpfs is mounted
            os.mknod(root / "dev" / "console", 0o600 | 0o020000, os.makedev(5, 1))
        names = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
        archive = subprocess.run(
            ["cpio", "-o", "-H", "newc", "--quiet"],
            input=("\n".join([".", *names]) + "\n").encode(),
            cwd=root,
            capture_output=True,
            check=False,
        )
        if archive.returncode != 0:
            raise GuestBuildError(f"cpio failed: {archive.stderr.decode(errors='replace').strip()}")
        return gzip.compress(archive.stdout, compresslevel=1)


def _run(argv: list[str], what: str, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GuestBuildError(f"{what}: {exc}") from None
    if done.returncode != 0:
        raise GuestBuildError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    return done.stdout


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
