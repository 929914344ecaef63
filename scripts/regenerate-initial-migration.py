"""Regenerate django_petmail's single initial migration (the package is unreleased).

Django writes owner foreign keys as ``settings.AUTH_USER_MODEL`` (the default owner model);
this rewrites them to follow ``PETMAIL_OWNER_MODEL`` like the original did. Run from the
repository root: ``.venv/bin/python scripts/regenerate-initial-migration.py``.
"""

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "src" / "django_petmail" / "migrations"
HEADER = """
from django_petmail.conf import owner_model_label

# The owner model is swappable (PETMAIL_OWNER_MODEL, default AUTH_USER_MODEL): every owner
# foreign key and the dependency follow the setting, like AUTH_USER_MODEL does.
OWNER_MODEL = owner_model_label()
"""

for path in MIGRATIONS.glob("0*.py"):
    path.unlink()
subprocess.run(
    [sys.executable, "manage.py", "makemigrations", "django_petmail", "-n", "initial"],
    cwd=ROOT / "example_project",
    check=True,
)
initial = MIGRATIONS / "0001_initial.py"
text = initial.read_text()
text = re.sub(
    r"(\('owner', models\.(?:ForeignKey|OneToOneField)\([^\n]*?)to=settings\.AUTH_USER_MODEL",
    r"\1to=OWNER_MODEL",
    text,
)
text = text.replace(
    "from django.db import migrations, models\n",
    "from django.db import migrations, models\n" + HEADER,
    1,
)
text = text.replace(
    "        migrations.swappable_dependency(settings.AUTH_USER_MODEL),\n",
    "        migrations.swappable_dependency(settings.AUTH_USER_MODEL),\n"
    "        migrations.swappable_dependency(OWNER_MODEL),\n",
    1,
)
initial.write_text(text)
sys.stdout.write(f"wrote {initial.relative_to(ROOT)}\n")
