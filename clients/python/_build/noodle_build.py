"""A PEP 517 build backend for the `noodle` package, standard library only.

It builds a pure-Python wheel (and an sdist) of the `noodle/` directory, so that
`pip install ./clients/python` needs nothing from a package index.
"""
import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME = "noodle"
VERSION = "0.1.0"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST_INFO = f"{NAME}-{VERSION}.dist-info"
TAG = "py3-none-any"


def _metadata() -> str:
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return (
        "Metadata-Version: 2.1\n"
        f"Name: {NAME}\n"
        f"Version: {VERSION}\n"
        "Summary: Python client of the noodled mesh daemon, and Python functions as mesh services\n"
        "License: MIT\n"
        "Requires-Python: >=3.9\n"
        "Description-Content-Type: text/markdown\n\n"
        f"{readme}"
    )


def _package_files():
    root = os.path.join(HERE, NAME)
    for dirpath, _dirs, files in os.walk(root):
        if "__pycache__" in dirpath:
            continue
        for name in sorted(files):
            if name.endswith((".py", ".typed")):
                full = os.path.join(dirpath, name)
                yield full, os.path.relpath(full, HERE).replace(os.sep, "/")


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def _write_wheel(wheel_directory: str, editable: bool) -> str:
    filename = f"{NAME}-{VERSION}-{TAG}.whl"
    records = []
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as whl:
        def add(path: str, data: bytes) -> None:
            whl.writestr(path, data)
            records.append(_record_line(path, data))

        if editable:
            add(f"{NAME}.pth", (HERE + "\n").encode())
        else:
            for full, rel in _package_files():
                with open(full, "rb") as f:
                    add(rel, f.read())
        add(f"{DIST_INFO}/METADATA", _metadata().encode())
        add(f"{DIST_INFO}/WHEEL", f"Wheel-Version: 1.0\nGenerator: noodle_build\nRoot-Is-Purelib: true\nTag: {TAG}\n".encode())
        add(f"{DIST_INFO}/top_level.txt", f"{NAME}\n".encode())
        record = "\n".join(records + [f"{DIST_INFO}/RECORD,,"]) + "\n"
        whl.writestr(f"{DIST_INFO}/RECORD", record)
    return filename


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, editable=False)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, editable=True)


def build_sdist(sdist_directory, config_settings=None):
    base = f"{NAME}-{VERSION}"
    filename = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as tar:
        for rel in ["pyproject.toml", "README.md", "_build/noodle_build.py"] + [r for _, r in _package_files()]:
            tar.add(os.path.join(HERE, rel), arcname=f"{base}/{rel}")
        info = _metadata().encode()
        ti = tarfile.TarInfo(f"{base}/PKG-INFO")
        ti.size = len(info)
        tar.addfile(ti, io.BytesIO(info))
    return filename
