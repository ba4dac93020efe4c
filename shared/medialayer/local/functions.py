"""Loading the Lambda functions' code exactly as the template names it (CodeUri + Handler)."""

from __future__ import annotations

import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any

from medialayer.local.template import FunctionSpec

# Invocations arrive on many threads (parallel shard searches, Step Functions tasks): a module is
# registered in sys.modules before it has finished executing, so loading must be one at a time.
_loading = threading.RLock()


def load_module(spec: FunctionSpec) -> ModuleType:
    """Import ``CodeUri/<module>.py`` under a name unique to the function.

    Every function has its own ``app.py``; unique names keep them apart in one process.
    """
    name = f"medialayer_fn_{spec.logical_id}_{spec.module}"
    with _loading:
        if name in sys.modules:
            return sys.modules[name]
        path = spec.code_dir / f"{spec.module}.py"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        return module


def load_handler(spec: FunctionSpec) -> Any:
    return getattr(load_module(spec), spec.attribute)
