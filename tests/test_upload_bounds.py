"""Uploads that are built to hurt: against a real `auditrail serve`, a file that would take
the event loop for seconds is refused within a second while /healthz keeps answering,
and eight big photos at once stay within a memory bound."""

from __future__ import annotations

import io
import os
import random
import re
import secrets
import shutil
import struct
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from PIL import Image, ImageDraw

from server.assets.importing import read_file
from server.core.settings import PROJECT_ROOT
from server.core.sheets import MAX_LINES, MAX_XLSX_PARTS, check_xlsx
from tests.support import csrf_of

# serial: the timings asserted here are the server's alone, not shared with another worker
pytestmark = pytest.mark.serial
HEALTHZ_LIMIT_S = 0.1
REFUSE_LIMIT_S = 1.0
MEMORY_LIMIT_MB = 1024
PROBE_PAUSE_S = 0.02


@dataclass
class Server:
    url: str
    pid: int

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=True, timeout=60)

    def login(self, user: str) -> tuple[httpx.Client, str]:
        """A client logged in through the form, and its CSRF token."""
        client = self.client()
        token = csrf_of(client.get("/login").text)
        page = client.post("/login", data={"login": user, "password": "demo", "_csrf": token,
                                           "next": "/account"})
        assert page.status_code == 200, page.text[:300]
        return client, csrf_of(page.text)

    def status(self, field: str) -> int:
        """A memory figure of the server process from /proc, in kB (VmRSS, VmHWM)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} in /proc/{self.pid}/status")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`auditrail serve` of its own (SQLite), so its memory is measured alone."""
    library = tmp_path_factory.mktemp("bounds-library") / "checklists"
    shutil.copytree(PROJECT_ROOT / "checklists", library)
    shutil.copytree(PROJECT_ROOT / "tests" / "fixtures" / "checklists", library / "test")
    port = _free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("AUDITRAIL_")}
    env.update({
        "AUDITRAIL_DATA_DIR": str(tmp_path_factory.mktemp("bounds-data")),
        "AUDITRAIL_PORT": str(port),
        "AUDITRAIL_DEMO": "1",
        "AUDITRAIL_SECRET_KEY": secrets.token_hex(16),
        "AUDITRAIL_CHECKLISTS_DIR": str(library),
    })
    log_path = tmp_path_factory.mktemp("bounds-log") / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve"], env=env,
                                stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start; see {log_path}")
                time.sleep(0.2)
            yield Server(url, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:  # a loop still blocked does not see SIGTERM
                proc.kill()
                proc.wait(timeout=20)


class HealthProbe:
    """Polls /healthz on its own connection while a test does something else."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latencies: list[float] = []
        self.answered: list[float] = []  # when each answer came
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            client.get("/healthz")  # the connection is open before timing starts
            while not self._stop.is_set():
                started = time.perf_counter()
                response = client.get("/healthz")
                self.answered.append(time.perf_counter())
                self.latencies.append(self.answered[-1] - started)
                if response.status_code != 200:
                    self.failures.append(str(response.status_code))
                self._stop.wait(PROBE_PAUSE_S)

    def _answers(self, count: int) -> None:
        deadline = time.monotonic() + 30
        while len(self.answered) < count and time.monotonic() < deadline:
            time.sleep(0.005)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        self._answers(2)  # polling before the upload starts
        return self

    def __exit__(self, *exc: object) -> None:
        self._answers(len(self.answered) + 2)  # and on after it ended
        self._stop.set()
        self._thread.join(timeout=60)


def refused_while_healthy(server: Server, upload: Callable[[], httpx.Response]
                          ) -> tuple[httpx.Response, float, float]:
    """The upload's response, how long it took, and the slowest /healthz meanwhile."""
    with HealthProbe(server.url) as probe:
        started = time.perf_counter()
        response = upload()
        elapsed = time.perf_counter() - started
    assert not probe.failures
    assert len(probe.latencies) >= 3
    slowest = max(probe.latencies)
    # and the longest time without an answer, less the pause between polls: a poll that
    # was not in flight while the loop was blocked would hide the block from `latencies`
    gaps = [b - a - PROBE_PAUSE_S for a, b in zip(probe.answered, probe.answered[1:],
                                                  strict=False)]
    print(f"refused in {elapsed * 1000:.0f} ms; /healthz: {len(probe.latencies)} polls, "
          f"slowest {slowest * 1000:.0f} ms, longest silence {max(gaps) * 1000:.0f} ms")
    return response, elapsed, max(slowest, *gaps)


def import_file(server: Server, name: str, data: bytes) -> Callable[[], httpx.Response]:
    client, token = server.login("engineer")

    def upload() -> httpx.Response:
        return client.post("/assets/import", data={"_csrf": token},
                           files={"file": (name, data, "application/octet-stream")},
                           headers={"accept-language": "en"}, timeout=30)

    return upload


@pytest.mark.parametrize("data, message", [
    # counting duplicate headers was quadratic: 14 s of a blocked loop for 80 KB, 67 s here
    pytest.param(",".join(f"column{i}" for i in range(40_000)).encode() + b"\r\na,b\r\n",
                 "The row has 40000 cells: at most 100.", id="40000-columns"),
    # one csv call over a 4.9 MB line holds the GIL for ~0.2 s, even from a worker thread
    pytest.param(b"code,name,category\r\n" + b"," * 4_900_000 + b"\r\n",
                 "The line is longer than 10000 characters.", id="5MB-line"),
])
def test_wide_csv_refused_at_once(server: Server, data: bytes, message: str) -> None:
    response, elapsed, slowest = refused_while_healthy(server, import_file(server, "w.csv",
                                                                           data))
    assert response.status_code == 422
    assert message in response.text
    assert elapsed < REFUSE_LIMIT_S
    assert slowest < HEALTHZ_LIMIT_S


def zip_bomb(inflated_mb: int = 300) -> bytes:
    """A real workbook whose sheet XML inflates to `inflated_mb` MB of rows, blank ones (a
    space each), so that a reader that stops after 10,000 asset rows still reads on."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "assets"
    sheet.append(["code", "name", "category"])
    plain = io.BytesIO()
    book.save(plain)
    source = zipfile.ZipFile(plain)
    bomb = io.BytesIO()
    rows = b'<row><c t="inlineStr"><is><t> </t></is></c></row>' * 20_000
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for name in source.namelist():
            content = source.read(name)
            if name != "xl/worksheets/sheet1.xml":
                out.writestr(name, content)
                continue
            # openpyxl reads as many rows as the sheet's dimension says
            content = content.replace(b'"A1:C1"', b'"A1:C1048576"')
            head, tail = content.split(b"</sheetData>")
            with out.open(name, "w") as part:
                part.write(head)
                for _ in range(inflated_mb * 1_000_000 // len(rows)):
                    part.write(rows)
                part.write(b"</sheetData>" + tail)
    return bomb.getvalue()


def test_xlsx_zip_bomb_refused_at_once(server: Server) -> None:
    data = zip_bomb()
    assert len(data) < 1_000_000
    inflated = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    assert inflated > 250_000_000
    response, elapsed, slowest = refused_while_healthy(server, import_file(server, "b.xlsx",
                                                                           data))
    assert response.status_code == 422
    assert "The workbook unpacks to more than 25 MB." in response.text
    assert elapsed < REFUSE_LIMIT_S
    assert slowest < HEALTHZ_LIMIT_S


# -- photos --------------------------------------------------------------------------------


def big_png(width: int, height: int, lines: int = 3) -> bytes:
    """A mostly transparent RGBA drawing: large in pixels, small in bytes."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for x in range(0, width, width // lines):
        draw.line((x, 0, width - x, height), fill=(200, 30, 30, 255), width=9)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def eight_at_once(server: Server, data: bytes) -> tuple[list[int], float]:
    """Upload `data` as a photo eight times at once; the statuses and the server's peak
    memory above what it held before, in MB."""
    client, token = server.login("auditor")
    start = client.post("/audits", data={"_csrf": token, "checklist": "test.all_types"},
                        follow_redirects=False)
    assert start.status_code in (302, 303), start.text[:300]
    audit = int(start.headers["location"].rsplit("/", 1)[1])
    clients = [httpx.Client(base_url=server.url, cookies=client.cookies, timeout=120)
               for _ in range(8)]

    def upload(each: httpx.Client) -> int:
        return each.post(f"/audits/{audit}/items/B5/photos",
                         headers={"HX-Request": "true", "X-CSRF-Token": token},
                         files={"file": ("big.png", data, "image/png")}).status_code

    before = server.status("VmRSS")
    # reset the peak (VmHWM) to the current RSS: the server's own process, so allowed
    Path(f"/proc/{server.pid}/clear_refs").write_text("5")
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(upload, clients))
    extra_mb = (server.status("VmHWM") - before) / 1024
    for each in clients:
        each.close()
    print(f"8 uploads of {len(data) // 1000} KB: {statuses}, peak +{extra_mb:.0f} MB")
    return statuses, extra_mb


def test_eight_uploads_of_a_49_megapixel_png_are_refused_cheaply(server: Server) -> None:
    data = big_png(7000, 7000, lines=1)
    assert len(data) < 250_000
    statuses, extra_mb = eight_at_once(server, data)
    assert statuses == [422] * 8  # above the pixel budget of PNGs: never decoded
    assert extra_mb < 100


def test_eight_uploads_of_the_largest_admitted_png_stay_under_1_gb(server: Server) -> None:
    data = big_png(5000, 4000)  # 20 MP RGBA: the worst a PNG may cost
    statuses, extra_mb = eight_at_once(server, data)
    assert statuses == [201] * 8
    assert extra_mb < MEMORY_LIMIT_MB


# -- the limits themselves, without a server ---------------------------------------------


def workbook(edit: Callable[[str, bytes], bytes] = lambda _name, content: content,
             rows: int = 1) -> bytes:
    """A real assets workbook, each part passed through `edit(name, content)`."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "assets"
    sheet.append(["code", "name", "category"])
    for i in range(rows):
        sheet.append([f"UPS-{i}", f"UPS {i}", "ups"])
    plain = io.BytesIO()
    book.save(plain)
    source = zipfile.ZipFile(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, edit(info.filename, source.read(info.filename)))
    return out.getvalue()


def in_sheet(before: bytes, after: bytes) -> Callable[[str, bytes], bytes]:
    def edit(name: str, content: bytes) -> bytes:
        return content.replace(before, after) if name.startswith("xl/worksheets/") else content

    return edit


def refusal(name: str, data: bytes) -> str:
    started = time.perf_counter()
    parsed = read_file(name, data)
    assert time.perf_counter() - started < REFUSE_LIMIT_S
    assert [p.row for p in parsed.problems] == [1], parsed.problems
    return parsed.problems[0].message


def test_csv_header_and_row_widths_are_bounded() -> None:
    assert refusal("w.csv", b",".join(b"c%d" % i for i in range(101)) + b"\n") == (
        "The row has 101 cells: at most 100.")
    wide_row = b"code,name,category\nA-1,a,ups" + b"," * 150 + b"\n"
    assert [(p.row, p.message) for p in read_file("r.csv", wide_row).problems] == [
        (2, "The row has 153 cells: at most 100.")]
    # csv splits a line in one call that holds the GIL: lines are bounded before that
    long_line = b"code,name,category\nA-1,a,ups\n" + b"," * 4_000_000 + b"\n"
    assert [(p.row, p.message) for p in read_file("l.csv", long_line).problems] == [
        (3, "The line is longer than 10000 characters.")]
    # quoted delimiters are text, not columns
    quoted = b'code,name,category,"' + b"," * 200 + b'"\nA-1,a,ups,x\n'
    assert "Unknown column" in read_file("q.csv", quoted).problems[0].message
    # trailing empty header cells, as spreadsheets save formatted columns, are no column
    parsed = read_file("t.csv", b"code,name,category,,,\nA-1,a,ups,,,\n")
    assert parsed.problems == [] and parsed.columns == {"code", "name", "category"}


def test_duplicate_headers_are_found_in_linear_time() -> None:
    header = ",".join(["code", "name", "category", "code"] + [f"x{i}" for i in range(90)])
    parsed = read_file("d.csv", header.encode() + b"\n")
    assert ("code", "This column appears twice.") in [(p.column, p.message)
                                                      for p in parsed.problems]


def test_blank_lines_are_read_only_so_far() -> None:
    data = b"code,name,category\n" + b",,\n" * (MAX_LINES + 10) + b"A-1,a,ups\n"
    problems = read_file("b.csv", data).problems
    assert [(p.row, p.message) for p in problems] == [
        (MAX_LINES + 1, f"At most {MAX_LINES} lines per file, blank ones included.")]


def test_an_ordinary_workbook_passes_the_checks() -> None:
    data = workbook(rows=2_000)
    assert check_xlsx(data) is None
    parsed = read_file("ok.xlsx", data)
    assert parsed.problems == [] and len(parsed.rows) == 2_000


def test_a_sheet_that_claims_16384_columns_is_read_within_bounds() -> None:
    # openpyxl pads every row to the stated dimension: 16,384 cells a row unless bounded
    data = workbook(in_sheet(b'"A1:C2001"', b'"A1:XFD1048576"'), rows=2_000)
    started = time.perf_counter()
    parsed = read_file("dim.xlsx", data)
    assert time.perf_counter() - started < 5
    assert parsed.problems == [] and len(parsed.rows) == 2_000


def test_a_row_of_many_cells_is_refused_before_openpyxl() -> None:
    cells = b"".join(b'<c r="%s1" t="inlineStr"><is><t>x%d</t></is></c>' % (
        get_column_letter(i).encode(), i) for i in range(4, 5_000))
    data = workbook(in_sheet(b"</row>", cells + b"</row>"))
    assert refusal("row.xlsx", data) == "A row has more than 100 cells."


def test_styles_that_would_cost_hundreds_of_mb_are_refused() -> None:
    # random attributes defeat the compression-ratio check; the count of elements does not
    # depend on how well they compress (490,000 of these took openpyxl 37 s and 380 MB)
    rng = random.Random(1)
    xfs = b"".join(b'<xf numFmtId="%d"/>' % rng.randrange(10**6) for _ in range(150_000))

    def styles(name: str, content: bytes) -> bytes:
        if name != "xl/styles.xml":
            return content
        return re.sub(rb'<cellXfs count="\d+">', b'<cellXfs count="150000">' + xfs, content)

    data = workbook(styles)
    assert len(data) < 2_000_000
    assert refusal("styles.xlsx", data) == (
        "The workbook has too many cells, styles or other entries.")


def test_compression_ratio_and_parts_are_checked() -> None:
    thin = workbook(in_sheet(b"</row>", b"</row>" + b"<row/>" * 400_000))
    assert refusal("ratio.xlsx", thin) == (
        "The workbook is compressed more than 100 to 1: it is not an ordinary spreadsheet.")
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as archive:
        for i in range(MAX_XLSX_PARTS + 1):
            archive.writestr(f"part{i}.xml", b"<a/>")
    assert refusal("parts.xlsx", many.getvalue()) == "The workbook has more than 200 parts."


def test_a_part_that_lies_about_its_size_is_not_inflated() -> None:
    """zipfile stops at the declared size and then fails the CRC: the checked sizes hold."""
    data = bytearray(zip_bomb(inflated_mb=30))
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    sheet = archive.getinfo("xl/worksheets/sheet1.xml")
    # the declared uncompressed size: 4 bytes at offset 24 of its central directory entry
    entry = next(i for i in _central_entries(data) if _entry_name(data, i) == sheet.filename)
    struct.pack_into("<I", data, entry + 24, 1_000)
    assert refusal("lies.xlsx", bytes(data)) == "The file is not an Excel workbook (.xlsx)."


def _central_entries(data: bytes | bytearray) -> Iterator[int]:
    at = data.find(b"PK\x01\x02")
    while at != -1:
        yield at
        at = data.find(b"PK\x01\x02", at + 4)


def _entry_name(data: bytes | bytearray, at: int) -> str:
    length = struct.unpack_from("<H", data, at + 28)[0]
    return bytes(data[at + 46:at + 46 + length]).decode()


def test_a_doctype_is_refused() -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">'
              b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>')
    data = workbook(lambda name, content: laughs + content.split(b"?>", 1)[-1]
                    if name.startswith("xl/worksheets/") else content)
    assert refusal("dtd.xlsx", data) == "The file is not an Excel workbook (.xlsx)."
