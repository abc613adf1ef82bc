"""SQLite's file format read by hand: a diary's bytes with its WAL applied, and the table-leaf
records of pages SQLite itself refuses to read.

Everything here follows https://www.sqlite.org/fileformat2.html and reads bytes only: nothing is
written, no SQLite library is involved, and a damaged structure yields less, never an exception.
It is what lets a damaged diary be salvaged (``salvage.py``) and a diary in a read-only folder be
read at all (SQLite needs to create the ``-shm`` file beside a WAL diary even to read it).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

MAGIC = b"SQLite format 3\x00"
_WAL_MAGIC = (0x377F0682, 0x377F0683)  # checksums of little-endian, big-endian words
_WAL_HEADER = 32
_FRAME_HEADER = 24
_PAGE_SIZES = tuple(512 << shift for shift in range(8))  # 512 ... 65536
_TABLE_LEAF, _TABLE_INTERIOR, _INDEX_LEAF, _INDEX_INTERIOR = 13, 5, 10, 2
_LEAF_HEADER = 8

Value = int | float | str | bytes | None


@dataclass(frozen=True)
class Cell:
    """One table-leaf cell: the row's rowid and its decoded column values. SEARCHED: found by
    trying offsets, not through its page's cell pointers (so more likely chance bytes)."""

    rowid: int
    values: tuple[Value, ...]
    page: int
    searched: bool = False


def page_size(image: bytes) -> int | None:
    """The page size the header states, or None when the header is not a SQLite header."""
    if len(image) < 100 or not image.startswith(MAGIC):
        return None
    size = int.from_bytes(image[16:18], "big")
    size = 65536 if size == 1 else size
    return size if size in _PAGE_SIZES else None


def snapshot(path: Path) -> bytes:
    """The bytes of the database at PATH as SQLite would read it: the main file with the
    committed frames of its ``-wal`` applied (a writer killed before checkpointing leaves its
    last episodes there), marked as a rollback-journal file so it can be opened in memory.
    OSError when the main file cannot be read. Call it only where no SQLite connection of this
    process has the file open: closing our descriptor would drop that connection's locks."""
    image = bytearray(path.read_bytes())
    wal = Path(f"{path}-wal")
    try:
        frames = wal.read_bytes() if wal.exists() else b""
    except OSError as err:  # a WAL we cannot read: the main file is still most of the diary
        _LOGGER.warning("Could not read %s (%s); reading the diary without it", wal, err)
        frames = b""
    if frames:
        image = _apply_wal(image, frames)
    if len(image) >= 100 and image.startswith(MAGIC):
        image[18] = image[19] = 1  # SQLite's in-memory databases cannot be in WAL mode
    return bytes(image)


def _wal_checksum(data: bytes, big_endian: bool, s0: int, s1: int) -> tuple[int, int]:
    words = struct.unpack(f"{'>' if big_endian else '<'}{len(data) // 4}I", data)
    for index in range(0, len(words), 2):
        s0 = (s0 + words[index] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[index + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def _apply_wal(image: bytearray, wal: bytes) -> bytearray:
    """IMAGE with every frame up to the WAL's last valid commit written over its pages."""
    if len(wal) < _WAL_HEADER:
        return image
    magic, _version, size, _seq, salt1, salt2, sum1, sum2 = struct.unpack(">8I", wal[:32])
    if magic not in _WAL_MAGIC or size not in _PAGE_SIZES:
        return image
    big = magic == _WAL_MAGIC[1]
    s0, s1 = _wal_checksum(wal[:24], big, 0, 0)
    if (s0, s1) != (sum1, sum2):
        return image
    pages: dict[int, bytes] = {}
    committed: dict[int, bytes] = {}
    pages_after_commit = 0
    offset = _WAL_HEADER
    while offset + _FRAME_HEADER + size <= len(wal):
        header = wal[offset:offset + _FRAME_HEADER]
        number, commit, f_salt1, f_salt2, f_sum1, f_sum2 = struct.unpack(">6I", header)
        body = wal[offset + _FRAME_HEADER:offset + _FRAME_HEADER + size]
        if (f_salt1, f_salt2) != (salt1, salt2) or number == 0:
            break  # left over from before the WAL was last restarted
        s0, s1 = _wal_checksum(header[:8], big, s0, s1)
        s0, s1 = _wal_checksum(body, big, s0, s1)
        if (s0, s1) != (f_sum1, f_sum2):
            break  # a frame written as the writer died: nothing after it was committed
        pages[number] = body
        if commit:
            committed.update(pages)
            pages.clear()
            pages_after_commit = commit
        offset += _FRAME_HEADER + size
    if not committed:
        return image
    if page_size(bytes(image[:100])) not in (None, size):
        return image  # the WAL belongs to some other file
    wanted = pages_after_commit * size
    if len(image) < wanted:
        image.extend(bytes(wanted - len(image)))
    del image[wanted:]
    for number, body in committed.items():
        if number <= pages_after_commit:
            image[(number - 1) * size:number * size] = body
    return image


def _sound_header(page: bytes) -> bool:
    """True when PAGE starts with a b-tree page header whose every number fits inside it."""
    kind = page[0]
    if kind not in (_TABLE_LEAF, _TABLE_INTERIOR, _INDEX_LEAF, _INDEX_INTERIOR):
        return False
    header = _LEAF_HEADER if kind in (_TABLE_LEAF, _INDEX_LEAF) else _LEAF_HEADER + 4
    count = int.from_bytes(page[3:5], "big")
    content = int.from_bytes(page[5:7], "big") or 65536
    if header + 2 * count > content or content > len(page) or page[7] > 60:
        return False
    pointers = page[header:header + 2 * count]
    return all(content <= int.from_bytes(pointers[i:i + 2], "big") < len(page)
               for i in range(0, len(pointers), 2))


def varint(data: bytes, at: int) -> tuple[int, int]:
    """(value, position after it) of the SQLite varint at AT; IndexError past the end."""
    value = 0
    for index in range(8):
        byte = data[at + index]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + index + 1
    return (value << 8) | data[at + 8], at + 9


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


_INT_SIZES = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8}


def decode_record(payload: bytes, encoding: str = "utf-8") -> tuple[Value, ...] | None:
    """The column values of one record, or None when PAYLOAD is not a whole, well-formed record.
    Text that does not decode keeps its readable characters (one damaged byte in a note)."""
    try:
        header_size, at = varint(payload, 0)
        if header_size < 1 or header_size > len(payload):
            return None
        types = []
        while at < header_size:
            serial, at = varint(payload, at)
            types.append(serial)
        if at != header_size:
            return None
        body = header_size
        values: list[Value] = []
        for serial in types:
            if serial == 0:
                values.append(None)
            elif serial in _INT_SIZES:
                width = _INT_SIZES[serial]
                values.append(int.from_bytes(payload[body:body + width], "big", signed=True))
                body += width
            elif serial == 7:
                values.append(struct.unpack(">d", payload[body:body + 8])[0])
                body += 8
            elif serial in (8, 9):
                values.append(serial - 8)
            elif serial >= 12:
                width = (serial - 12) // 2
                raw = payload[body:body + width]
                values.append(raw.decode(encoding, "replace") if serial % 2 else bytes(raw))
                body += width
            else:
                return None  # 10 and 11 are reserved: not a record
            if body > len(payload):
                return None
        return tuple(values) if body == len(payload) else None
    except (IndexError, struct.error):
        return None


class PageScanner:
    """Every table-leaf record that can still be found in IMAGE, page by page."""

    def __init__(self, image: bytes) -> None:
        self.image = image
        self.size = page_size(image) or self._guess_size()
        reserved = image[20] if page_size(image) else 0
        self.usable = self.size - reserved
        self.encoding = {2: "utf-16-le", 3: "utf-16-be"}.get(
            int.from_bytes(image[56:60], "big") if page_size(image) else 1, "utf-8")
        self.pages = len(image) // self.size
        self.free = self._freelist() if page_size(image) else set()

    def _guess_size(self) -> int:
        """With the header gone: the size at whose multiples most pages have a sound b-tree
        page header. A smaller size cuts real pages, whose cell pointers then point past its
        end; a larger one skips every other real page, so the true size counts most."""
        best, best_count = 4096, 0
        for size in _PAGE_SIZES:
            if len(self.image) % size or len(self.image) < 2 * size:
                continue
            count = sum(1 for start in range(size, len(self.image), size)
                        if _sound_header(self.image[start:start + size]))
            if count > best_count:
                best, best_count = size, count
        return best

    def _freelist(self) -> set[int]:
        """Pages on the freelist: their old rows were deleted and must not come back."""
        free: set[int] = set()
        trunk = int.from_bytes(self.image[32:36], "big")
        while 0 < trunk <= self.pages and trunk not in free:
            free.add(trunk)
            page = self._page(trunk)
            count = int.from_bytes(page[4:8], "big")
            for index in range(min(count, (self.usable - 8) // 4)):
                leaf = int.from_bytes(page[8 + 4 * index:12 + 4 * index], "big")
                if 0 < leaf <= self.pages:
                    free.add(leaf)
            trunk = int.from_bytes(page[:4], "big")
        return free

    def _page(self, number: int) -> bytes:
        return self.image[(number - 1) * self.size:number * self.size]

    def cells(self) -> Iterator[Cell]:
        """Cells of every table-leaf page not on the freelist; a page whose header or cell
        pointers are damaged is searched byte by byte for records."""
        for number in range(1, self.pages + 1):
            if number in self.free:
                continue
            page = self._page(number)
            start = 100 if number == 1 else 0
            kind = page[start]
            if kind in (_TABLE_INTERIOR, _INDEX_LEAF, _INDEX_INTERIOR):
                continue
            found: list[Cell] = []
            whole = False
            if kind == _TABLE_LEAF:
                found, whole = self._listed_cells(number, page, start)
            if not whole:
                seen = {cell.rowid for cell in found}
                found += [cell for cell in self._searched_cells(number, page, start)
                          if cell.rowid not in seen]
            yield from found

    def _listed_cells(self, number: int, page: bytes, start: int) -> tuple[list[Cell], bool]:
        """(cells, True when every pointer led to a whole record) through the page's own cell
        pointer array."""
        count = int.from_bytes(page[start + 3:start + 5], "big")
        first = start + _LEAF_HEADER
        if first + 2 * count > self.usable:
            return [], False
        cells, whole = [], True
        for index in range(count):
            pointer = int.from_bytes(page[first + 2 * index:first + 2 * index + 2], "big")
            cell = self._cell_at(number, page, pointer) if first < pointer < self.usable else None
            if cell is None:
                whole = False
            else:
                cells.append(cell)
        return cells, whole

    def _cell_at(self, number: int, page: bytes, at: int) -> Cell | None:
        try:
            size, after = varint(page, at)
            rowid, after = varint(page, after)
        except IndexError:
            return None
        payload = self._payload(page, after, size)
        if payload is None:
            return None
        values = decode_record(payload, self.encoding)
        return None if values is None else Cell(_signed(rowid), values, number)

    def _payload(self, page: bytes, at: int, size: int) -> bytes | None:
        """The record's bytes, following its overflow pages when it does not fit the page."""
        usable = self.usable
        most = usable - 35
        if size <= most:
            return page[at:at + size] if at + size <= usable else None
        least = (usable - 12) * 32 // 255 - 23
        local = least + (size - least) % (usable - 4)
        local = local if local <= most else least
        if at + local + 4 > usable:
            return None
        parts = [page[at:at + local]]
        left = size - local
        following = int.from_bytes(page[at + local:at + local + 4], "big")
        visited: set[int] = set()
        while left > 0:
            if not 0 < following <= self.pages or following in visited:
                return None
            visited.add(following)
            overflow = self._page(following)
            chunk = overflow[4:4 + min(left, usable - 4)]
            parts.append(chunk)
            left -= len(chunk)
            following = int.from_bytes(overflow[:4], "big")
        return b"".join(parts)

    def _searched_cells(self, number: int, page: bytes, start: int) -> Iterator[Cell]:
        """Records found by trying every offset. A cell is two varints (payload size, rowid)
        and the record; a varint's last byte has its high bit clear and its others set, so
        the rowid's first byte is fixed by the record's start, and the size's by trying each
        length. Only a record exactly as long as its stated size is kept, so chance bytes
        rarely pass; the caller checks the values too."""
        low = start + _LEAF_HEADER
        for at in range(low + 2, self.usable - 1):
            if not 2 <= page[at] < 0x80 or page[at - 1] >= 0x80:
                continue
            rowid_at = at - 1
            while rowid_at > low and page[rowid_at - 1] >= 0x80 and at - rowid_at < 9:
                rowid_at -= 1
            size_end = rowid_at - 1
            if size_end < low:
                continue
            try:
                rowid, after = varint(page, rowid_at)
            except IndexError:
                continue
            if after != at:
                continue
            size_at = size_end
            while size_at >= low and size_end - size_at < 9:
                size, after = varint(page, size_at)
                if after == rowid_at:
                    payload = self._payload(page, at, size)
                    values = None if payload is None else decode_record(payload, self.encoding)
                    if values is not None:
                        yield Cell(_signed(rowid), values, number, searched=True)
                        break
                if size_at == low or page[size_at - 1] < 0x80:
                    break
                size_at -= 1
