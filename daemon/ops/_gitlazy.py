"""The git service, imported on first use: pygit2 costs ~70 ms to import, which would otherwise
lengthen every daemon start, and so the pause agents see during `ptyd upgrade`."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _LazyService:
    _module: ModuleType | None = None

    def __getattr__(self, name: str) -> Any:
        if _LazyService._module is None:
            _LazyService._module = importlib.import_module("ptyd.daemon.git.service")
        return getattr(_LazyService._module, name)


service: Any = _LazyService()
