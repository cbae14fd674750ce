"""Content-Type from a name, as the original's `mime-types@2.1.35` answers from mime-db 1.52.0. The expected
column was produced by that JavaScript package; the pinned database file is checked against its digest."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from services.files.mime import FALLBACK, MIME_DB_SHA256, content_type, database_digest, extension_of

ROOT = Path(__file__).resolve().parents[2]

# extension → mime-types' contentType('f.<ext>') (None: mime-types knows no type; we send the fallback)
MIME_DB_ANSWERS = [
    ("md", "text/markdown; charset=utf-8"),
    ("markdown", "text/markdown; charset=utf-8"),
    ("txt", "text/plain; charset=utf-8"),
    ("csv", "text/csv; charset=utf-8"),
    ("html", "text/html; charset=utf-8"),
    ("htm", "text/html; charset=utf-8"),
    ("css", "text/css; charset=utf-8"),
    ("js", "application/javascript; charset=utf-8"),
    ("mjs", "application/javascript; charset=utf-8"),
    ("json", "application/json; charset=utf-8"),
    ("xml", "application/xml"),
    ("yaml", "text/yaml; charset=utf-8"),
    ("yml", "text/yaml; charset=utf-8"),
    ("toml", "application/toml"),
    ("pdf", "application/pdf"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("svg", "image/svg+xml"),
    ("bmp", "image/bmp"),
    ("ico", "image/vnd.microsoft.icon"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("avif", "image/avif"),
    ("heic", "image/heic"),
    ("mp3", "audio/mpeg"),
    ("ogg", "audio/ogg"),
    ("oga", "audio/ogg"),
    ("flac", "audio/x-flac"),
    ("wav", "audio/wave"),
    ("m4a", "audio/mp4"),
    ("aac", "audio/x-aac"),
    ("opus", "audio/ogg"),
    ("mp4", "video/mp4"),
    ("m4v", "video/x-m4v"),
    ("mkv", "video/x-matroska"),
    ("webm", "video/webm"),
    ("mov", "video/quicktime"),
    ("avi", "video/x-msvideo"),
    ("mpeg", "video/mpeg"),
    ("zip", "application/zip"),
    ("gz", "application/gzip"),
    ("tgz", None),
    ("tar", "application/x-tar"),
    ("7z", "application/x-7z-compressed"),
    ("rar", "application/vnd.rar"),
    ("bz2", "application/x-bzip2"),
    ("xz", "application/x-xz"),
    ("epub", "application/epub+zip"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("odt", "application/vnd.oasis.opendocument.text"),
    ("ods", "application/vnd.oasis.opendocument.spreadsheet"),
    ("odp", "application/vnd.oasis.opendocument.presentation"),
    ("doc", "application/msword"),
    ("xls", "application/vnd.ms-excel"),
    ("ppt", "application/vnd.ms-powerpoint"),
    ("rtf", "application/rtf"),
    ("ts", "video/mp2t"),
    ("wasm", "application/wasm"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("ttf", "font/ttf"),
    ("otf", "font/otf"),
    ("eot", "application/vnd.ms-fontobject"),
    ("apk", "application/vnd.android.package-archive"),
    ("jar", "application/java-archive"),
    ("exe", "application/x-msdos-program"),
    ("dmg", "application/x-apple-diskimage"),
    ("iso", "application/x-iso9660-image"),
    ("sh", "application/x-sh"),
    ("py", None),
    ("rb", None),
    ("java", "text/x-java-source; charset=utf-8"),
    ("c", "text/x-c; charset=utf-8"),
    ("cpp", "text/x-c; charset=utf-8"),
    ("go", None),
    ("rs", "application/rls-services+xml"),
    ("php", "application/x-httpd-php"),
    ("sql", "application/x-sql"),
    ("ics", "text/calendar; charset=utf-8"),
    ("vcf", "text/x-vcard; charset=utf-8"),
]


@pytest.mark.parametrize(("extension", "expected"), MIME_DB_ANSWERS, ids=[e for e, _ in MIME_DB_ANSWERS])
def test_the_answer_is_mime_types(extension: str, expected: str | None) -> None:
    answer = expected or FALLBACK
    assert content_type(f"chapter.{extension}") == answer
    assert content_type(f"CHAPTER.{extension.upper()}") == answer  # extensions are case-blind
    assert content_type(f"dir.v2/archive.old.{extension}") == answer  # only the last extension counts


@pytest.mark.parametrize(
    ("name", "extension"),
    [("a.tar.gz", "gz"), ("png", "png"), ("README", "readme"), (".bashrc", "bashrc"), ("a.", ""), ("", "")],
)
def test_the_extension_is_nodes_extname_of_x_dot_name(name: str, extension: str) -> None:
    assert extension_of(name) == extension


def test_the_pinned_database_is_mime_db_as_published() -> None:
    """scripts/refresh_mime_db.py writes it byte for byte; a hand edit changes the digest."""
    assert database_digest() == MIME_DB_SHA256


def test_an_installed_package_carries_its_data_files(tmp_path: Path) -> None:
    """What the images install (`pip install .`, not this checkout): the wheel holds mime_db.json and answers
    from it, and the web app's files, in a process that sees only the wheel's contents."""
    source = tmp_path / "source"  # a copy: building writes build/ and egg-info beside the sources
    for name in ("pyproject.toml", "README.md"):
        source.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    for package in ("services", "shared"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("files_manager-*.whl")
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)

    def run(probe: str) -> str:
        return subprocess.run(
            [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(unpacked)!r}); {probe}"],
            check=True,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        ).stdout.strip()

    assert run("from services.files.mime import content_type; print(content_type('chapter_titles.md'))") == (
        "text/markdown; charset=utf-8"
    )
    shipped = run("from services.gateway.webapp import load_assets; print(' '.join(sorted(load_assets())))")
    assert shipped.split() == sorted(path.name for path in (ROOT / "services/gateway/static").iterdir())
