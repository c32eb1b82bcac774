"""Reading and writing tables (CSV and XLSX) that people edit in a spreadsheet: bounded
in size, columns, rows and unpacked bytes, so that no file can hold the server; each
problem by row, column and message. What the columns mean is the importer's business
(assets, departments, projects, users); this module knows only their names.
"""

from __future__ import annotations

import asyncio
import contextvars
import csv
import io
import re
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from xml.parsers import expat

from openpyxl import load_workbook

from server.core import i18n, workbook
from server.core.cells import FORMULA_STARTS, safe_cell
from server.core.i18n import gettext as _

MAX_BYTES = 5_000_000
MAX_ROWS = 10_000
MAX_LINES = 2 * MAX_ROWS  # blank ones included: a file of empty rows is not read to its end
MAX_COLUMNS = 100  # cells in any row; a file has far fewer known ones
MAX_LINE_CHARS = 10_000  # a CSV line; a record's fields take at most ~1,000 characters
_QUOTED = re.compile(r'"[^"]*"')
# An .xlsx is a zip whose XML openpyxl inflates and turns into objects (a cell costs about
# 300 bytes), so the zip is checked before openpyxl opens it: a 400 KB file may otherwise
# unpack to gigabytes. An asset export of 10,000 rows (the most a file may hold) unpacks
# to 5 MB and 260,000 XML elements, compressed 12 to 1.
MAX_XLSX_PARTS = 200
MAX_XLSX_UNPACKED = 25_000_000
MAX_XLSX_RATIO = 100  # for parts over RATIO_FROM bytes: plain XML compresses 5-20 to 1
RATIO_FROM = 1_000_000
MAX_XLSX_ELEMENTS = 500_000
MAX_XLSX_BUILT = 100_000  # outside rows and shared strings; Excel has at most ~65,000 styles
MAX_RECORD_ELEMENTS = 2_000  # in one row or shared string (rich text runs included)
PARSE_SLOTS = 2  # files parsed at once: each may take a core and ~100 MB


@dataclass(frozen=True)
class Sheet:
    """What a kind of file holds: its columns, the required ones, other names a header
    may have (Chinese ones, older names), its worksheet's name, and what a row is."""

    columns: tuple[str, ...]
    required: tuple[str, ...]
    aliases: Mapping[str, str]
    sheet_name: str
    no_rows: Callable[[], str]  # "The file has no asset rows."


@dataclass(frozen=True)
class Problem:
    row: int  # the row number as the spreadsheet shows it (the header is row 1)
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class Choices:
    """A coded column (a status, a role, a language...): the codes it takes, their names
    in the current language, and other words people write for them. A cell may hold the
    code or a name in any language the app speaks: files come from either."""

    codes: Sequence[str]
    names: Callable[[], Mapping[str, str]]  # code -> name, in the current language
    aliases: Mapping[str, str] = field(default_factory=dict)  # other word -> code

    def _words(self) -> dict[str, str]:
        words = {code.lower(): code for code in self.codes}
        for lang in i18n.LANGUAGES:
            token = i18n.current_language.set(lang)
            try:
                names = self.names()
            finally:
                i18n.current_language.reset(token)
            for code in self.codes:
                if code in names:
                    words.setdefault(" ".join(names[code].split()).lower(), code)
        for word, code in self.aliases.items():
            words.setdefault(word.lower(), code)
        return words

    def match(self, text: str) -> str | None:
        """The code a cell means, or None; a blank cell is the blank code."""
        wanted = " ".join(text.split()).lower()
        return "" if not wanted else self._words().get(wanted)

    def offered(self) -> list[str]:
        """What a template's drop-down offers: the names in the current language."""
        names = self.names()
        return [names.get(code, code) for code in self.codes]

    def accepted(self) -> str:
        """'Name (code), ...' in the current language, for a message."""
        names = self.names()
        return ", ".join(f"{names[c]} ({c})" if names.get(c, c) != c else c
                         for c in self.codes)

    def problem(self, row: int, column: str, text: str) -> Problem:
        return Problem(row, column, _("Unknown value “%(value)s”; use one of: %(accepted)s",
                                      value=text[:60], accepted=self.accepted()))


@dataclass
class Parsed:
    """Rows read from a file: (spreadsheet row number, {column: text})."""

    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)  # the columns the file has




def _header(raw: object, aliases: Mapping[str, str]) -> str:
    text = str(raw or "").strip()
    key = text.lower().replace(" ", "_").replace("-", "_")
    return aliases.get(text, aliases.get(key, key))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a serial number typed as a number
    text = str(value).strip()
    if text[:1] == "'" and text[1:2] in FORMULA_STARTS:
        return text[1:]  # what safe_cell added on export
    return text


def _rows_to_parsed(sheet: Sheet, table: Iterable[Sequence[object]]) -> Parsed:
    parsed = Parsed()
    iterator = iter(table)
    try:
        header_row = next(iterator)
    except StopIteration:
        parsed.problems.append(Problem(1, "", _("The file is empty.")))
        return parsed
    if len(header_row) > MAX_COLUMNS:
        parsed.problems.append(Problem(1, "", _too_wide(len(header_row))))
        return parsed
    headers = [_header(h, sheet.aliases) for h in header_row]
    while headers and not headers[-1]:
        headers.pop()  # trailing empty cells (a spreadsheet's formatted columns)
    missing = [c for c in sheet.required if c not in headers]
    for column in missing:
        parsed.problems.append(Problem(1, column, _("This column is missing.")))
    unknown = [h for h in headers if h and h not in sheet.columns]
    for column in unknown:
        parsed.problems.append(
            Problem(1, column, _("Unknown column; use: %(known)s",
                                 known=", ".join(sheet.columns)))
        )
    counts = Counter(h for h in headers if h)  # linear: a file may have many columns
    for column in sorted(h for h, n in counts.items() if n > 1):
        parsed.problems.append(Problem(1, column, _("This column appears twice.")))
    if parsed.problems:
        return parsed
    parsed.columns = {h for h in headers if h}
    for number, values in enumerate(iterator, start=2):
        if number > MAX_LINES:
            parsed.problems.append(
                Problem(number, "", _("At most %(n)s lines per file, blank ones included.",
                                      n=MAX_LINES)))
            break
        if len(values) > MAX_COLUMNS:
            parsed.problems.append(Problem(number, "", _too_wide(len(values))))
            break
        row = {h: _cell(v) for h, v in zip(headers, values, strict=False) if h}
        if not any(row.values()):
            continue  # blank lines are not rows
        if len(parsed.rows) >= MAX_ROWS:
            parsed.problems.append(
                Problem(number, "", _("At most %(n)s rows per file.", n=MAX_ROWS))
            )
            break
        parsed.rows.append((number, row))
    if not parsed.rows and not parsed.problems:
        parsed.problems.append(Problem(2, "", sheet.no_rows()))
    return parsed


def _too_wide(cells: int) -> str:
    return _("The row has %(n)s cells: at most %(max)s.", n=cells, max=MAX_COLUMNS)


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030: what Excel saves on Chinese Windows."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


class _LineTooLong(Exception):
    """A CSV line over MAX_LINE_CHARS, by its number in the file."""

    def __init__(self, number: int) -> None:
        self.number = number


def _lines(text: str) -> Iterator[str]:
    """The file's lines for csv, each bounded: csv parses a line in one call that holds the
    GIL, so a 5 MB line would stall the event loop from a worker thread. Split here with
    bounded str.find: io.StringIO over 5 MB held it for 20-30 ms."""
    newline = "\n" if "\n" in text else "\r"  # "\r" alone: old Mac files
    start, number = 0, 1
    while start < len(text):
        end = text.find(newline, start, start + MAX_LINE_CHARS + 1)
        if end == -1:
            if len(text) - start > MAX_LINE_CHARS:
                raise _LineTooLong(number)
            end = len(text) - 1
        yield text[start:end + 1]
        start, number = end + 1, number + 1


def read_csv(sheet: Sheet, data: bytes) -> Parsed:
    try:
        text = _decode(data)
    except UnicodeDecodeError:
        return Parsed(problems=[Problem(1, "", _("The file is not readable text (UTF-8 or GBK)."))])
    first = text[:text.find("\n")] if "\n" in text else text
    delimiter = max((",", ";", "\t"), key=first.count)
    # the header's width before csv splits it: delimiters outside quoted text
    cells = first.count(delimiter) + 1
    if cells > MAX_COLUMNS and '"' in first:
        cells = _QUOTED.sub("", first).count(delimiter) + 1
    if cells > MAX_COLUMNS:
        return Parsed(problems=[Problem(1, "", _too_wide(cells))])
    try:
        return _rows_to_parsed(sheet, csv.reader(_lines(text), delimiter=delimiter))
    except csv.Error as exc:
        return Parsed(problems=[Problem(1, "", _("The CSV file is malformed: %(e)s", e=str(exc)))])
    except _LineTooLong as exc:
        return Parsed(problems=[Problem(exc.number, "", _(
            "The line is longer than %(n)s characters.", n=MAX_LINE_CHARS))])


class _TooMuch(Exception):
    """A workbook part goes over a limit: the message says which."""


class _PartScan:
    """Counts a workbook's XML elements as expat streams through its parts.

    openpyxl reads the rows of a sheet (sheetData) and the shared strings (sst) one record
    at a time but builds every other part (styles, workbook) whole, at up to 700 bytes an
    element, so those have a lower limit; one record (a row, a string) is also built whole.
    """

    STREAMED = frozenset({"sheetData", "sst"})
    RECORDS = frozenset({"row", "si"})

    def __init__(self) -> None:
        self.elements = 0  # so far, in the whole workbook
        self.built = 0  # so far, outside sheetData and sst
        self.streamed = 0  # depth of open sheetData / sst elements
        self.in_record = 0  # elements since the current row or shared string began
        self.cells = 0  # in the current row

    def start(self, name: str, _attributes: object) -> None:
        local = name.rpartition(" ")[2]  # "namespace local-name": whatever the prefix
        self.elements += 1
        if local in self.STREAMED:
            self.streamed += 1
        elif not self.streamed:
            self.built += 1
        elif local in self.RECORDS:
            self.in_record = self.cells = 0
        else:
            self.in_record += 1
            self.cells += local == "c"
        if (self.elements > MAX_XLSX_ELEMENTS or self.built > MAX_XLSX_BUILT
                or self.in_record > MAX_RECORD_ELEMENTS):
            raise _TooMuch(_("The workbook has too many cells, styles or other entries."))
        if self.cells > MAX_COLUMNS:
            raise _TooMuch(_("A row has more than %(max)s cells.", max=MAX_COLUMNS))

    def end(self, name: str) -> None:
        if name.rpartition(" ")[2] in self.STREAMED:
            self.streamed -= 1

    def doctype(self, *_args: object) -> None:
        # Office files never declare one; entities are how XML multiplies its text.
        raise _TooMuch(_not_a_workbook())


def _scan_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, scan: _PartScan) -> None:
    """Stream one part through expat (what openpyxl's parser is built on), counting as it
    goes. Parts that are not XML (images) stop at their first byte, as in openpyxl."""
    scan.streamed = scan.in_record = scan.cells = 0
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = scan.start
    parser.EndElementHandler = scan.end
    parser.StartDoctypeDeclHandler = scan.doctype
    # zipfile stops at the declared size (and then fails the CRC), so the checked sizes hold
    with archive.open(info) as part:
        try:
            while chunk := part.read(1 << 20):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except expat.ExpatError:
            pass  # counted up to the error, where openpyxl stops too


def _not_a_workbook() -> str:
    return _("The file is not an Excel workbook (.xlsx).")


def check_xlsx(data: bytes) -> str | None:
    """Why a workbook must not be opened (too many parts, too large or compressed too well
    unpacked, too many cells), or None."""
    if data.count(b"PK\x01\x02") > MAX_XLSX_PARTS:  # before zipfile lists them all
        return _("The workbook has more than %(n)s parts.", n=MAX_XLSX_PARTS)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
            if len(parts) > MAX_XLSX_PARTS:
                return _("The workbook has more than %(n)s parts.", n=MAX_XLSX_PARTS)
            if sum(p.file_size for p in parts) > MAX_XLSX_UNPACKED:
                return _("The workbook unpacks to more than %(n)s MB.",
                         n=MAX_XLSX_UNPACKED // 1_000_000)
            for part in parts:
                if (part.file_size > RATIO_FROM
                        and part.file_size > MAX_XLSX_RATIO * max(part.compress_size, 1)):
                    return _("The workbook is compressed more than %(n)s to 1: it is not an "
                             "ordinary spreadsheet.", n=MAX_XLSX_RATIO)
            scan = _PartScan()
            for part in parts:
                _scan_part(archive, part, scan)
    except _TooMuch as exc:
        return str(exc)
    except Exception:  # a broken zip (bad CRC, encrypted, truncated) is not a workbook
        return _not_a_workbook()
    return None


def read_xlsx(sheet: Sheet, data: bytes) -> Parsed:
    refused = check_xlsx(data)
    if refused:
        return Parsed(problems=[Problem(1, "", refused)])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles it does not know
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        return Parsed(problems=[Problem(1, "", _not_a_workbook())])
    try:
        found = (book[sheet.sheet_name] if sheet.sheet_name in book.sheetnames
                 else book.worksheets[0])
        # Bounds of our own: the sheet's stated dimensions pad every row to them, and may
        # say 16,384 columns by a million rows.
        return _rows_to_parsed(sheet, found.iter_rows(max_row=MAX_LINES + 1,
                                                      max_col=MAX_COLUMNS, values_only=True))
    except Exception:  # a part that passed the scan may still be broken for openpyxl
        return Parsed(problems=[Problem(1, "", _not_a_workbook())])
    finally:
        book.close()


def read_file(sheet: Sheet, filename: str, data: bytes) -> Parsed:
    if len(data) > MAX_BYTES:
        return Parsed(problems=[Problem(1, "", _("The file is larger than 5 MB."))])
    if data[:2] == b"PK" or filename.lower().endswith(".xlsx"):
        return read_xlsx(sheet, data)
    return read_csv(sheet, data)


# Parsing and checking a file takes up to seconds of CPU: in threads of their own, so the
# event loop keeps serving, and no more than PARSE_SLOTS at once, so imports neither crowd
# out the default executor (DNS, file saves) nor add up in memory. Waiting work holds no
# thread. Tasks run in a copy of the context: messages keep the request's language.
_PARSERS = ThreadPoolExecutor(max_workers=PARSE_SLOTS, thread_name_prefix="table-import")
T = TypeVar("T")


async def off_loop(fn: Callable[..., T], *args: Any) -> T:
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_PARSERS, context.run, fn, *args)




def to_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    # The BOM makes Excel open the file as UTF-8 (Chinese names intact).
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: list[list[str]], sheet_name: str, widths: Mapping[str, int],
            choices: Mapping[str, Choices] | None = None) -> bytes:
    """One sheet whose first row names the columns; `choices` give the coded columns
    their drop-downs (the names in the current language)."""
    header = rows[0] if rows else []
    index = {column: number for number, column in enumerate(header)}
    return workbook.write([workbook.Tab(
        sheet_name, header, rows[1:],
        widths={index[c]: w for c, w in widths.items() if c in index},
        choices={index[c]: ch.offered() for c, ch in (choices or {}).items() if c in index},
    )])
