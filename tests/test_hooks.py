"""``django_petmail.hooks`` is the public surface hosts import from, and the clinic uses only it."""

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from django_petmail import hooks

CLINIC = Path(__file__).resolve().parent.parent / "example_project" / "clinic"


@pytest.mark.parametrize("name", hooks.__all__)
def test_every_public_name_is_importable(name):
    namespace: dict = {}
    exec(f"from django_petmail.hooks import {name}", namespace)
    assert namespace[name] is getattr(hooks, name)


def test_every_register_function_is_public():
    """Each ``register_*`` of the package (not internal ones) is re-exported."""
    modules = [
        "django_petmail.segments.fields",
        "django_petmail.rendering.context",
        "django_petmail.sequences.registry",
    ]
    found = {
        name
        for module in modules
        for name, obj in vars(importlib.import_module(module)).items()
        if name.startswith("register_") and inspect.isfunction(obj)
    }
    assert found == {
        "register_segment_field",
        "register_context_provider",
        "register_trigger",
        "register_skip_condition",
    }
    assert found <= set(hooks.__all__)
    assert "PetmailAdapter" in hooks.__all__
    assert sorted(hooks.__all__) == hooks.__all__
    assert set(hooks.__all__) == {name for name in vars(hooks) if not name.startswith("_")} - {
        "annotations"
    }


@pytest.mark.parametrize("module", ["petmail_hooks.py", "adapter.py"])
def test_the_clinic_imports_only_the_public_surface(module):
    tree = ast.parse((CLINIC / module).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    petmail = {name for name in imported if name.split(".")[0] == "django_petmail"}
    assert petmail == {"django_petmail.hooks"}
