"""`import gradio`, without the editor stubs that gradio rewrites on every import.

gradio's ComponentMeta calls `create_or_modify_pyi` as each component class is created: it re-reads and
re-parses the component's source file with `ast` and rewrites its `.pyi` stub inside site-packages. The stubs
only help editors, and the ~80 parses took 2.7 of the 5.9 s that `import gradio` took here (the app's
start-up, issue 8). `import_gradio` skips that step: a finder on sys.meta_path replaces the function
as `gradio.component_meta` loads. If gradio renames it or is already imported, it changes nothing but the time.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

STUB_WRITER = "create_or_modify_pyi"


def _no_stub(*args, **kwargs) -> None:
    return None


class _SkipStubs(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "gradio.component_meta":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            if hasattr(module, STUB_WRITER):
                setattr(module, STUB_WRITER, _no_stub)

        spec.loader.exec_module = exec_module
        return spec


def import_gradio() -> ModuleType:
    if "gradio" not in sys.modules:
        finder = _SkipStubs()
        sys.meta_path.insert(0, finder)
        try:
            import gradio  # noqa: F401
        finally:
            sys.meta_path.remove(finder)
    return sys.modules["gradio"]
