"""The manifest of external data sources (``sources.toml``) and the files each one contributes.

A source is a public repository at a fixed commit (or a Debian soundfont package); the manifest says
which of its folders are used, how files map to instrument classes, its licence and its role
(train / heldout / dev). ``extract`` copies a source's files out of a bare git snapshot, so the
corpus can be rebuilt from the manifest alone.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .instruments import NAMES

MANIFEST = Path(__file__).with_name("sources.toml")
ROLES = ("train", "heldout", "dev")
KINDS = ("photos", "notes", "soundfont", "clips")
PITCH_RULES = ("name", "number", "nsynth", "drum")


@dataclass(frozen=True)
class Source:
    """One manifest entry (see ``sources.toml``'s header for the fields)."""

    name: str
    licence: str
    role: str
    kind: str
    repo: str = ""
    commit: str = ""
    branch: str = ""
    package: str = ""
    path: str = ""
    paths: tuple[str, ...] = ()
    include: str = ""
    limit: int = 0
    pitch: str = ""
    classes: dict[str, str] = field(default_factory=dict)
    drum_keys: dict[str, int] = field(default_factory=dict)

    @property
    def folder_name(self) -> str:
        """The folder a snapshot of ``repo`` is extracted to: ``owner+name``."""
        return self.repo.replace("/", "+")

    @property
    def origin(self) -> str:
        """``repository@commit`` or ``debian:package:path``."""
        return f"{self.repo}@{self.commit}" if self.repo else f"debian:{self.package}:{self.path}"

    def class_of(self, path: str) -> str | None:
        """The class a file of this source stands for (first matching pattern), or None."""
        for pattern, name in self.classes.items():
            if re.search(pattern, path):
                return name
        return None

    def select(self, paths: list[str]) -> dict[str, str]:
        """The used files among ``paths`` (repository paths), each with its class, at most ``limit``
        per class, spread evenly over the sorted paths."""
        chosen: dict[str, list[str]] = {}
        for path in sorted(paths):
            if self.paths and not any(path.startswith(p.rstrip("/") + "/") for p in self.paths):
                continue
            if self.include and not re.search(self.include, path):
                continue
            name = self.class_of("/" + path)
            if name is not None:
                chosen.setdefault(name, []).append(path)
        out = {}
        for name, files in chosen.items():
            if self.limit and len(files) > self.limit:
                files = [files[int((i + 0.5) * len(files) / self.limit)] for i in range(self.limit)]
            out.update((f, name) for f in files)
        return out


def read_manifest(path: Path = MANIFEST) -> list[Source]:
    """The sources of a manifest file, checked: known role, kind, pitch rule and class names
    (clips may name instruments outside the vocabulary: they are scored unlabelled)."""
    doc = tomllib.loads(Path(path).read_text())
    sources = []
    for entry in doc.get("source", []):
        source = Source(**{**entry, "paths": tuple(entry.get("paths", ()))})
        if source.role not in ROLES or source.kind not in KINDS:
            raise ValueError(f"{source.name}: role {source.role!r} / kind {source.kind!r} unknown")
        if source.kind == "notes" and source.pitch not in PITCH_RULES:
            raise ValueError(f"{source.name}: pitch rule {source.pitch!r} unknown")
        if bool(source.repo) == bool(source.package) or (source.repo and len(source.commit) != 40):
            raise ValueError(f"{source.name}: needs either repo and a full commit, or package and path")
        unknown = set(source.classes.values()) - set(NAMES)
        if unknown and source.kind != "clips":
            raise ValueError(f"{source.name}: classes {sorted(unknown)} are not in instruments.NAMES")
        sources.append(source)
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ValueError("source names repeat")
    return sources


def by_name(name: str, sources: list[Source] | None = None) -> Source:
    for source in sources if sources is not None else read_manifest():
        if source.name == name:
            return source
    raise KeyError(name)


def repository_files(git_dir: Path, commit: str) -> dict[str, str]:
    """Every file of a bare repository at ``commit``: {path: blob id}."""
    out = subprocess.run(["git", f"--git-dir={git_dir}", "ls-tree", "-r", "-z", commit],
                         check=True, capture_output=True).stdout
    files = {}
    for entry in out.decode().split("\0"):
        if entry:
            info, path = entry.split("\t", 1)
            if info.split()[1] == "blob":
                files[path] = info.split()[2]
    return files


def extract(source: Source, git_dir: Path, root: Path) -> dict[str, str]:
    """Copy the source's used files from the bare repository ``git_dir`` to ``root/owner+name/``
    (paths kept; blobs as stored, with no end-of-line or attribute filters) and list them, with
    their classes, in its ``files.json``; returns {repository path: class}. Files already there
    are not copied again."""
    blobs = repository_files(git_dir, source.commit)
    files = source.select(list(blobs))
    dest = root / source.folder_name
    missing = [f for f in files if not (dest / f).exists()]
    with subprocess.Popen(["git", f"--git-dir={git_dir}", "cat-file", "--batch"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE) as batch:
        for path in missing:
            batch.stdin.write(f"{blobs[path]}\n".encode())
            batch.stdin.flush()
            header = batch.stdout.readline().split()
            if len(header) != 3 or header[1] != b"blob":
                raise RuntimeError(f"{source.name}: {path} is missing from the snapshot")
            data = batch.stdout.read(int(header[2]))
            batch.stdout.read(1)
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        batch.stdin.close()
    (dest / "files.json").write_text(json.dumps({"origin": source.origin, "files": files}, indent=0))
    return files


def local_files(source: Source, root: Path) -> dict[Path, str]:
    """The source's used files as extracted under ``root`` (by ``extract``), each with its class."""
    base = root / source.folder_name
    listing = json.loads((base / "files.json").read_text())
    if listing["origin"] != source.origin:
        raise ValueError(f"{base} holds {listing['origin']}, the manifest names {source.origin}: extract again")
    return {base / path: name for path, name in listing["files"].items()}
