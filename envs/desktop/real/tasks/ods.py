"""OpenDocument spreadsheets (.ods) with the standard library: the Gnumeric tasks' start files and checkers.

write_ods(path, rows)   one sheet; ints and floats become numbers, the rest strings
read_ods(path) -> rows  the first sheet's cells as text (numbers as office:value: "42", "3.5"),
                        repeated cells and rows expanded, trailing empty cells and rows dropped
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}
MIME = "application/vnd.oasis.opendocument.spreadsheet"
MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{MIME}"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
)
MAX_REPEAT = 1000  # a repeated run longer than this is the sheet's empty tail


def _cell(v: object) -> str:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return f'<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>'
    return (
        f'<table:table-cell office:value-type="string"><text:p>{escape(str(v))}</text:p></table:table-cell>'
    )


def ods_bytes(rows: list[list[object]], sheet: str = "Sheet1") -> dict[str, str]:
    body = "".join(
        "<table:table-row>" + "".join(_cell(v) for v in row) + "</table:table-row>" for row in rows
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        + " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items())
        + f' office:version="1.2"><office:body><office:spreadsheet><table:table table:name="{escape(sheet)}">'
        + body
        + "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    return {"META-INF/manifest.xml": MANIFEST, "content.xml": content}


def write_ods(path: Path, rows: list[list[object]]) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), MIME, compress_type=zipfile.ZIP_STORED)  # first, uncompressed
        for name, text in ods_bytes(rows).items():
            z.writestr(name, text, compress_type=zipfile.ZIP_DEFLATED)


def read_ods(path: Path) -> list[list[str]] | None:
    """The first sheet's rows, or None when the file is missing or not an ODS spreadsheet."""
    try:
        with zipfile.ZipFile(path) as z:
            root = ET.fromstring(z.read("content.xml"))
    except (OSError, KeyError, zipfile.BadZipFile, ET.ParseError):
        return None
    table = root.find(".//table:table", NS)
    if table is None:
        return None
    rows: list[list[str]] = []
    for row in table.iter(f"{{{NS['table']}}}table-row"):
        cells: list[str] = []
        for cell in row:
            if not cell.tag.endswith("}table-cell") and not cell.tag.endswith("}covered-table-cell"):
                continue
            n = int(cell.get(f"{{{NS['table']}}}number-columns-repeated", "1"))
            value = cell.get(f"{{{NS['office']}}}value")
            if value is None:
                value = "\n".join("".join(p.itertext()) for p in cell.findall("text:p", NS))
            cells += [value] * min(n, MAX_REPEAT)
        while cells and cells[-1] == "":
            cells.pop()
        n_rows = int(row.get(f"{{{NS['table']}}}number-rows-repeated", "1"))
        rows += [list(cells) for _ in range(min(n_rows, MAX_REPEAT))]
    while rows and not rows[-1]:
        rows.pop()
    return rows
