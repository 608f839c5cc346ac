"""The site policy file, re-read when it changes: a broken edit keeps the last good policy."""

from __future__ import annotations

import os
from pathlib import Path

from controller.site_policy import SitePolicy
from controller.site_policy_file import SitePolicyError, load_site_policy


class SitePolicyReloader:
    """The last good site policy from one file, re-read when asked (a controller polls ``changed``).

    The first load must succeed (SitePolicyError otherwise); afterwards a broken edit is reported
    by ``reload`` and the last good policy stays ``current`` until a fixed file is read.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp = self._stat()  # taken before reading, so an edit during the read is seen later
        self._current = load_site_policy(path)

    @property
    def current(self) -> SitePolicy:
        return self._current

    def changed(self) -> bool:
        """Whether the file differs (inode, mtime or size) from the one last read, good or bad."""
        return self._stat() != self._stamp

    def reload(self) -> str | None:
        """Re-read the file: None when it was taken, else the problems (``current`` is unchanged)."""
        stamp = self._stat()
        try:
            policy = load_site_policy(self.path)
        except SitePolicyError as exc:
            self._stamp = stamp  # the same broken file is not reported again on every poll
            return str(exc)
        self._stamp = stamp
        self._current = policy
        return None

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size
