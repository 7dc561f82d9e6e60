"""The package root re-exports a small public API, and every module declares ``__all__``."""

import importlib
import pkgutil

import walletdoctor


def test_root_exports_resolve() -> None:
    for name in walletdoctor.__all__:
        assert getattr(walletdoctor, name) is not None


def test_every_module_declares_all_and_its_names_exist() -> None:
    for info in pkgutil.walk_packages(walletdoctor.__path__, "walletdoctor."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        exported = getattr(module, "__all__", None)
        assert exported is not None, f"{info.name} has no __all__"
        for name in exported:
            assert hasattr(module, name), f"{info.name}.__all__ names missing {name}"
