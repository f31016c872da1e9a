"""The requirement index, parsed from the normative Markdown in ``spec/``.

What lives here: :class:`Requirement`, the parser of rule headings (``### IOME-EPS-004: title``),
the spec hash that vectors record, and the JSON form of the index (``spec/index.json``).
What must not: any hand-kept list of ids. The Markdown is the only source of truth for which
requirements exist (STYLE §5); everything else (the registry check, vectors, reports) reads the
index produced here.

Parsing is strict on purpose: a duplicate id, a malformed id or a rule without its ``Source:``
line would make the spec and the code silently disagree, so each raises ``UsageError``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

from iome_ref.errors import UsageError

__all__ = [
    "ID_PATTERN",
    "Requirement",
    "compute_spec_hash",
    "default_spec_dir",
    "load_requirements",
    "load_retired",
    "to_index_json",
]

#: The shape of every requirement id (overview.md, "Requirement ids").
ID_PATTERN: Final = re.compile(r"^IOME-[A-Z]+-[0-9]{3}$")

#: A rule heading: level 3, the id, a colon, a title.
_RULE_HEADING: Final = re.compile(r"^### (?P<id>\S+?): (?P<title>\S.*?)\s*$")
#: Any level-3 heading that starts like a rule; checked strictly against _RULE_HEADING.
_RULE_LIKE: Final = re.compile(r"^###\s+IOME\b")
#: Any Markdown ATX heading: it ends the body of the rule before it.
_ANY_HEADING: Final = re.compile(r"^#{1,6}\s")
_FENCE: Final = re.compile(r"^\s*(```|~~~)")
_SOURCE_PREFIX: Final = "Source: "
#: A retired id, listed as a bullet under "## Retired requirements" (overview.md).
_RETIRED_ITEM: Final = re.compile(r"^- (?P<id>IOME-\S+?):")
_RETIRED_SECTION: Final = "## Retired requirements"
#: BCP 14 keywords; a rule without one states no requirement.
_KEYWORDS: Final = re.compile(r"\b(MUST|SHALL|SHOULD|REQUIRED|RECOMMENDED|MAY|OPTIONAL)\b")

#: ``req_id`` of every UsageError raised here: the fault is in the spec text, not a rule.
_SPEC: Final = "spec"


@dataclass(frozen=True)
class Requirement:
    """One rule of the spec, as written in its Markdown file."""

    req_id: str
    title: str
    #: The middle part of the id: ``EPS`` for ``IOME-EPS-004``.
    area: str
    #: File name within ``spec/``, e.g. ``energy.md``.
    file: str
    #: The text after ``Source: ``.
    source: str
    #: The rule's sentences, without its heading and Source line, joined into one paragraph.
    text: str


def default_spec_dir() -> Path:
    """The ``spec/`` folder beside the ``iome_ref`` package (the repository root's)."""
    return Path(__file__).resolve().parents[2] / "spec"


def _spec_files(spec_dir: Path) -> list[Path]:
    if not spec_dir.is_dir():
        raise UsageError(_SPEC, f"spec directory {spec_dir} does not exist")
    return sorted(spec_dir.glob("*.md"), key=lambda path: path.name)


def _unfenced_lines(text: str) -> list[tuple[int, str]]:
    """Lines outside fenced code blocks, with 1-based line numbers.

    Fenced blocks may show a rule heading as an example (overview.md does); it defines nothing.
    """
    lines: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = _FENCE.match(line)
        if match is not None:
            marker = match.group(1)
            if fence is None:
                fence = marker
            elif marker == fence:
                fence = None
            continue
        if fence is None:
            lines.append((number, line))
    return lines


def _build(req_id: str, title: str, file: str, line: int, body: list[str]) -> Requirement:
    sources = [item for item in body if item.startswith(_SOURCE_PREFIX)]
    if len(sources) != 1:
        found = "no" if not sources else f"{len(sources)}"
        raise UsageError(
            _SPEC, f"{file}:{line}: rule {req_id} needs one 'Source: ' line, found {found}"
        )
    source = sources[0][len(_SOURCE_PREFIX) :].strip()
    if not source:
        raise UsageError(_SPEC, f"{file}:{line}: rule {req_id} has an empty Source line")
    text = " ".join(item.strip() for item in body if item.strip() and item not in sources)
    if not _KEYWORDS.search(text):
        raise UsageError(_SPEC, f"{file}:{line}: rule {req_id} has no RFC 2119 keyword in its text")
    area = req_id.split("-")[1]
    return Requirement(req_id, title, area, file, source, text)


def _parse_file(path: Path) -> list[Requirement]:
    file = path.name
    rules: list[Requirement] = []
    # The rule being read: (id, title, heading line number), or None between rules.
    current: tuple[str, str, int] | None = None
    body: list[str] = []
    for number, line in _unfenced_lines(path.read_text(encoding="utf-8")):
        if _ANY_HEADING.match(line):
            if current is not None:
                rules.append(_build(current[0], current[1], file, current[2], body))
                current, body = None, []
            if _RULE_LIKE.match(line):
                heading = _RULE_HEADING.match(line)
                if heading is None or ID_PATTERN.match(heading["id"]) is None:
                    raise UsageError(
                        _SPEC,
                        f"{file}:{number}: malformed rule heading {line!r}; "
                        "expected '### IOME-<AREA>-<NNN>: <title>'",
                    )
                current = (str(heading["id"]), str(heading["title"]), number)
            continue
        if current is not None:
            body.append(line)
    if current is not None:
        rules.append(_build(current[0], current[1], file, current[2], body))
    return rules


def load_retired(spec_dir: Path) -> set[str]:
    """Ids listed under "## Retired requirements" (bullets ``- IOME-X-NNN: ...``).

    Raises:
        UsageError: a listed id is malformed.
    """
    retired: set[str] = set()
    for path in _spec_files(spec_dir):
        in_section = False
        for number, line in _unfenced_lines(path.read_text(encoding="utf-8")):
            if _ANY_HEADING.match(line):
                in_section = line.strip() == _RETIRED_SECTION
                continue
            match = _RETIRED_ITEM.match(line) if in_section else None
            if match is None:
                continue
            if ID_PATTERN.match(match["id"]) is None:
                raise UsageError(_SPEC, f"{path.name}:{number}: malformed retired id {line!r}")
            retired.add(match["id"])
    return retired


def load_requirements(spec_dir: Path) -> dict[str, Requirement]:
    """Parse every rule of ``spec_dir/*.md`` into an index keyed by id, sorted by id.

    Raises:
        UsageError: a missing directory, one whose Markdown defines no rule (not a spec
            folder: listing or checking nothing would pass for success), a malformed rule
            heading, a rule without exactly one ``Source:`` line or without an RFC 2119 keyword,
            an id defined twice, or a retired id defined again.
    """
    found: dict[str, Requirement] = {}
    for path in _spec_files(spec_dir):
        for rule in _parse_file(path):
            earlier = found.get(rule.req_id)
            if earlier is not None:
                raise UsageError(
                    _SPEC, f"{rule.req_id} is defined in both {earlier.file} and {rule.file}"
                )
            found[rule.req_id] = rule
    if not found:
        raise UsageError(_SPEC, f"{spec_dir}: no rule heading in its *.md files, not a spec folder")
    revived = sorted(load_retired(spec_dir) & set(found))
    if revived:
        raise UsageError(_SPEC, f"retired ids are defined again: {', '.join(revived)}")
    return dict(sorted(found.items()))


def compute_spec_hash(spec_dir: Path) -> str:
    """SHA-256 over the sorted ``spec/*.md`` files: name, NUL, bytes, NUL for each; lowercase hex.

    Only the Markdown counts: schemas, vectors and index.json are derived from it and from the
    reference, so hashing them would make the hash depend on its own outputs.

    Raises:
        UsageError: the directory does not exist.
    """
    digest = hashlib.sha256()
    for path in _spec_files(spec_dir):
        digest.update(path.name.encode("utf-8") + b"\x00")
        digest.update(path.read_bytes() + b"\x00")
    return digest.hexdigest()


def to_index_json(reqs: dict[str, Requirement]) -> dict[str, dict[str, str]]:
    """The index as JSON data for ``spec/index.json``: id -> title, area, file, source, text.

    Keys are sorted, so the generated file is byte-stable for unchanged Markdown.
    """
    index: dict[str, dict[str, str]] = {}
    for req_id in sorted(reqs):
        entry = asdict(reqs[req_id])
        del entry["req_id"]
        index[req_id] = entry
    return index
