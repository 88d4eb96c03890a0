"""A document that leaves Slack (terms of reference, archive, sponsor report) as plain parts,
written out as Markdown and as a Word document from the same parts, so the two always hold the
same sections.

Text in the parts is as people typed it; only the writers escape it (Markdown here, nothing in
Word, which has no markup to fear). People are `Person` references, named by the writer: a real
name in a file, a mention in a canvas. So no document can carry a raw `<@U…>` or a typed link.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.text import markdown_escape

Names = Callable[[str], str]  # a Slack user id -> the person's name, as plain text


@dataclass(frozen=True)
class Strong:
    text: str


@dataclass(frozen=True)
class Person:
    user_id: str


Inline = str | Strong | Person
Line = tuple[Inline, ...]


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2  # 1 is the title


@dataclass(frozen=True)
class Paragraph:
    parts: Line
    note: bool = False  # a remark about the document (italic), not part of its content


@dataclass(frozen=True)
class Bullets:
    items: tuple[Line, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[Line, ...]  # each row a line of cells (one inline each)


@dataclass(frozen=True)
class Quote:
    parts: Line


@dataclass(frozen=True)
class Image:
    """A picture inside the document: embedded in Word, a file beside the Markdown."""

    filename: str
    title: str
    alt_text: str
    png: bytes


Part = Heading | Paragraph | Bullets | Table | Quote | Image


@dataclass
class Document:
    title: str
    parts: list[Part] = field(default_factory=list)

    def add(self, *parts: Part) -> None:
        self.parts.extend(parts)

    @property
    def images(self) -> list[Image]:
        return [p for p in self.parts if isinstance(p, Image)]

    def headings(self, level: int = 2) -> list[str]:
        return [p.text for p in self.parts if isinstance(p, Heading) and p.level == level]


def paragraphs(text: str) -> list[Paragraph]:
    """Typed text of several paragraphs (blank lines between them) as paragraphs; single line
    breaks inside a paragraph are kept as spaces in Word and hard breaks in Markdown."""
    return [Paragraph((p.strip(),)) for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]


# -- Markdown -------------------------------------------------------------------------------


def _md_text(text: str) -> str:
    # A typed line break stays a line break (two spaces), never a new block.
    return "  \n".join(markdown_escape(line) for line in text.splitlines())


def _md_inline(part: Inline, person: Callable[[str], str]) -> str:
    if isinstance(part, Strong):
        return f"**{_md_text(part.text)}**" if part.text.strip() else ""
    if isinstance(part, Person):
        return person(part.user_id)
    return _md_text(part)


def to_markdown(document: Document, names: Names, *, mentions: bool = False) -> str:
    """The document as Markdown. `mentions`: people as Slack mentions (for a canvas, which
    shows each person's current name); otherwise by name, escaped like any typed text."""

    def person(user_id: str) -> str:
        return f"![](@{user_id})" if mentions else markdown_escape(names(user_id))

    def line(parts: Line) -> str:
        return "".join(_md_inline(p, person) for p in parts)

    out = [f"# {markdown_escape(document.title)}"]
    for part in document.parts:
        match part:
            case Heading(text, level):
                out += ["", f"{'#' * max(level, 2)} {markdown_escape(text)}"]
            case Paragraph(parts, note):
                text = line(parts)
                out += ["", f"_{text}_" if note else text]
            case Bullets(items):
                out.append("")
                # A list item continues on indented lines, so a typed line break stays inside.
                out += ["- " + line(item).replace("  \n", "  \n  ") for item in items]
            case Table(header, rows):
                out += ["", "| " + " | ".join(markdown_escape(h) for h in header) + " |"]
                out.append("|" + " --- |" * len(header))
                out += [
                    "| " + " | ".join(line((c,)).replace("  \n", " ") for c in row) + " |"
                    for row in rows
                ]
            case Quote(parts):
                out += ["", "> " + line(parts).replace("  \n", "  \n> ")]
            case Image(filename, title, alt_text, _):
                # The picture is uploaded beside this file under the same name.
                out += [
                    "",
                    f"![{markdown_escape(alt_text)}]({filename})",
                    "",
                    f"_{markdown_escape(title)}:_ {markdown_escape(alt_text)}",
                ]
    return "\n".join(out) + "\n"


# -- Word -----------------------------------------------------------------------------------


def to_docx(document: Document, names: Names) -> bytes:
    """The document as a Word file (.docx), with its pictures embedded."""
    from docx import Document as Word  # imported on first use: the app starts without it
    from docx.shared import Inches

    word = Word()
    word.core_properties.title = document.title

    def paragraph(style: str | None = None, container: Any = None) -> Any:
        # The style by its id, set directly: python-docx looks a style's name up by scanning
        # every style, for every paragraph, which made a long document take seconds.
        added = (container or word).add_paragraph()
        if style:
            added._p.style = style
        return added

    def write(into: Any, parts: Line, *, italic: bool = False) -> None:
        for part in parts:
            if isinstance(part, Strong):
                run = into.add_run(part.text)
                run.bold = True
            elif isinstance(part, Person):
                run = into.add_run(names(part.user_id))
            else:
                run = into.add_run(part)
            if italic:
                run.italic = True

    paragraph("Title").add_run(document.title)
    for part in document.parts:
        match part:
            case Heading(text, level):
                paragraph(f"Heading{max(level - 1, 1)}").add_run(text)
            case Paragraph(parts, note):
                write(paragraph(), parts, italic=note)
            case Bullets(items):
                for item in items:
                    write(paragraph("ListBullet"), item)
            case Table(header, rows):
                table = word.add_table(rows=1, cols=len(header))
                table.style = "Table Grid"
                for cell, text in zip(table.rows[0].cells, header, strict=True):
                    cell.paragraphs[0].add_run(text).bold = True
                for row in rows:
                    cells = table.add_row().cells
                    for cell, value in zip(cells, row, strict=True):
                        write(cell.paragraphs[0], (value,))
            case Quote(parts):
                write(paragraph("Quote"), parts)
            case Image(_, title, alt_text, png):
                word.add_picture(io.BytesIO(png), width=Inches(6))
                picture = word.inline_shapes[-1]._inline.docPr
                picture.set("descr", alt_text)  # the alt text a screen reader reads
                picture.set("title", title)
                caption = paragraph()
                caption.add_run(f"{title}: ").italic = True
                caption.add_run(alt_text)
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


def docx_text(data: bytes) -> list[tuple[str, str]]:
    """A Word file's paragraphs as (style id, e.g. "Heading1", text), table cells after them:
    what tests and readers check."""
    from docx import Document as Word

    word = Word(io.BytesIO(data))
    found = [(p._p.style or "", p.text) for p in word.paragraphs]
    for table in word.tables:
        found += [("TableCell", cell.text) for row in table.rows for cell in row.cells]
    return found


def upload_files(
    document: Document, names: Names, *, stem: str, extra: Sequence[dict[str, object]] = ()
) -> list[dict[str, object]]:
    """The `file_uploads` for files_upload_v2: the Markdown, the Word file, then the pictures
    the Markdown shows (under the names it refers to them by)."""
    files: list[dict[str, object]] = [
        {
            "content": to_markdown(document, names),
            "filename": f"{stem}.md",
            "title": f"{document.title} (Markdown)",
        },
        {
            "content": to_docx(document, names),
            "filename": f"{stem}.docx",
            "title": f"{document.title} (Word)",
        },
    ]
    files += [
        {"content": i.png, "filename": i.filename, "title": i.title, "alt_txt": i.alt_text}
        for i in document.images
    ]
    return [*files, *extra]
