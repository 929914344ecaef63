"""docs/installation.md, followed step by step in a brand-new project.

Every ```python block of the page headed ``# mysite/<file>`` is applied to a project made by
``django-admin startproject mysite`` (appended when the header says "add at the end", the
file written otherwise); then the page's ``manage.py migrate`` and ``check`` run, and the
admin, the subscribe page and the API answer. The page and this test cannot drift apart.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "installation.md"
BLOCK = re.compile(r"```python\n# (mysite/\S+)( \(add at the end\))?\n(.*?)```", re.S)
SMOKE = """
from django.test.utils import setup_test_environment
setup_test_environment()
from django.test import Client
client = Client()
for url in ("/admin/login/", "/petmail/subscribe/", "/petmail/api/subscribe/"):
    print(url, client.get(url).status_code)
"""


def run(args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def test_installation_md_works_in_a_brand_new_project(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    assert "$ django-admin startproject mysite" in text
    run(["-m", "django", "startproject", "mysite"], tmp_path)
    project = tmp_path / "mysite"
    blocks = BLOCK.findall(text)
    assert {name for name, _, _ in blocks} >= {
        "mysite/settings.py",
        "mysite/urls.py",
        "mysite/celery.py",
        "mysite/__init__.py",
    }
    for name, append, code in blocks:
        target = project / name
        if append:
            target.write_text(target.read_text() + "\n" + code)
        else:
            target.write_text(code)
    for command in ("migrate", "check"):
        assert f"$ python manage.py {command}" in text
    run(["manage.py", "migrate", "--noinput"], project)
    out = run(["manage.py", "check"], project)
    assert "no issues" in out, out
    statuses = dict(
        line.split()
        for line in run(["manage.py", "shell", "-c", SMOKE], project).splitlines()
        if line.startswith("/")
    )
    assert statuses["/admin/login/"] == "200"
    assert statuses["/petmail/subscribe/"] == "200"
    assert statuses["/petmail/api/subscribe/"] in {"200", "405"}  # the API is mounted
