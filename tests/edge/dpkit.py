"""Validate a Camtrap DP package with frictionless, offline, against the official 1.0.2 files.

The official profile and table schemas are in ``../shared/camtrap-dp-1.0.2/`` (absent on a
user's clone: the callers skip). The package is copied to a scratch directory with the schemas
beside it in ``camtrap-dp-1.0.2/`` (the profile requires the version in the schema URL), its
URLs pointed there, and the profile's two remote ``$ref``s answered locally: GeoJSON from the
copy frictionless ships, and the generic Data Package profile by an empty schema (frictionless
checks the Data Package rules itself). Any network connection attempt fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED_DP = ROOT.parent / "shared" / "camtrap-dp-1.0.2"
BASE = "https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0.2/"
LOCAL = "camtrap-dp-1.0.2/"
GEOJSON = "http://json.schemastore.org/geojson.json"
DATA_PACKAGE = "https://specs.frictionlessdata.io/schemas/data-package.json"


def need_shared() -> Path:
    if not (SHARED_DP / "camtrap-dp-profile.json").is_file():
        pytest.skip(f"{SHARED_DP} absent (the official Camtrap DP 1.0.2 schemas)")
    return SHARED_DP


@contextmanager
def _offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import frictionless
    from frictionless import Metadata
    from referencing import Resource
    from referencing.jsonschema import DRAFT202012

    def no_network(*_a: Any, **_k: Any) -> None:
        raise AssertionError("validation tried to use the network")

    geojson = Path(frictionless.__file__).parent / "assets" / "profiles" / "geojson.json"
    original = Metadata.metadata_retrieve_json_schema.__func__  # type: ignore[attr-defined]

    def retrieve(cls: Any, uri: str, *, context: Any) -> Any:
        if uri.startswith(GEOJSON):
            return Resource.from_contents(
                json.loads(geojson.read_text()), default_specification=DRAFT202012
            )
        if uri == DATA_PACKAGE:
            return Resource.from_contents({}, default_specification=DRAFT202012)
        return original(cls, uri, context=context)

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(Metadata, "metadata_retrieve_json_schema", classmethod(retrieve))
    yield


def validate_package(package: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The frictionless report for ``package`` (a directory with datapackage.json)."""
    import frictionless

    shared = need_shared()
    work = scratch / "validate"
    shutil.copytree(package, work)
    (work / LOCAL).mkdir()
    for schema in shared.glob("*.json"):
        shutil.copy(schema, work / LOCAL / schema.name)
    descriptor = json.loads((work / "datapackage.json").read_text())
    descriptor["profile"] = descriptor["profile"].replace(BASE, LOCAL)
    for resource in descriptor["resources"]:
        if isinstance(resource.get("schema"), str):
            resource["schema"] = resource["schema"].replace(BASE, LOCAL)
    (work / "datapackage.json").write_text(json.dumps(descriptor))
    cwd = os.getcwd()
    with _offline(monkeypatch):
        os.chdir(work)  # frictionless reads relative paths only inside the working directory
        try:
            return frictionless.validate("datapackage.json")
        finally:
            os.chdir(cwd)


def errors(report: Any) -> list[list[Any]]:
    return report.flatten(["type", "note", "rowNumber", "fieldName"])
