"""Extract UI strings and write the zh catalogue (.po and compiled .mo).

`--check` fails when a msgid has no translation or the committed files are out of date.
"""

import io
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

sys.path.insert(0, str(Path(__file__).parent))
from zh_catalog import ZH

ROOT = Path(__file__).parents[1]
TARGET = ROOT / "idp/web/translations/zh/LC_MESSAGES"


def build() -> tuple[bytes, bytes, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [
                sys.executable,
                "-m",
                "babel.messages.frontend",
                "extract",
                "-F",
                "babel.cfg",
                "-k",
                "_",
                "-k",
                "gettext",
                "--no-location",
                "--omit-header",
                "-o",
                f"{tmp}/messages.pot",
                ".",
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        pot = Path(f"{tmp}/messages.pot").read_bytes()
    catalog = read_po(io.BytesIO(pot), locale="zh_Hans_CN")
    missing = []
    for message in catalog:
        if message.id:
            message.string = ZH.get(message.id, "")
            if not message.string:
                missing.append(message.id)
    po, mo = io.BytesIO(), io.BytesIO()
    write_po(po, catalog, omit_header=True, sort_output=True)
    write_mo(mo, catalog)
    return po.getvalue(), mo.getvalue(), missing


def main() -> int:
    po, mo, missing = build()
    for msgid in missing:
        print(f"untranslated: {msgid!r}", file=sys.stderr)
    if "--check" in sys.argv:
        po_file = TARGET / "messages.po"
        current = po_file.read_bytes() if po_file.exists() else b""
        if current != po:
            print("messages.po is out of date: run `make i18n`", file=sys.stderr)
            return 1
        return 1 if missing else 0
    TARGET.mkdir(parents=True, exist_ok=True)
    (TARGET / "messages.po").write_bytes(po)
    (TARGET / "messages.mo").write_bytes(mo)
    print(f"wrote {TARGET}/messages.po and .mo")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
