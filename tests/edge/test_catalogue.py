"""The model catalogue: every hash is real (checked against ../shared/models where it is)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from camtrap.core.catalogue import CATALOGUE, find_entry

SHARED = Path(__file__).parents[2].parent / "shared" / "models"


def test_entries_have_https_urls_hashes_licences_and_sizes():
    for e in CATALOGUE:
        assert e.model.url.startswith("https://") and len(e.model.sha256) == 64
        assert e.licence and e.input_size[0] > 0 and e.verified == "shared"
        assert (e.labels is None) == (e.kind == "extractor")


def test_find_entry_ignores_case():
    assert find_entry("MobileNet-V2-ImageNet") is CATALOGUE[0]
    assert find_entry("nope") is None


@pytest.mark.shared
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/models is not on this machine")
def test_every_hash_is_that_of_the_shared_copy_of_the_file():
    shared = {p.name: p for p in SHARED.rglob("*") if p.is_file()}
    for e in CATALOGUE:
        for d in (e.model, e.labels):
            if d is None:
                continue
            data = shared[d.name].read_bytes()
            assert (hashlib.sha256(data).hexdigest(), len(data)) == (d.sha256, d.size), d.name
