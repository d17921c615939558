"""docs/config.md is generated from the config classes: it must match them."""

from camtrap.config import reference
from tools import gen_config_doc


def test_config_reference_doc_is_current() -> None:
    assert gen_config_doc.main(["--check"]) == 0, "run: python -m tools.gen_config_doc"


def test_every_config_key_appears_in_the_reference_doc() -> None:
    doc = gen_config_doc.render()
    missing = [key for key, *_ in reference() if f"`{key}`" not in doc]
    assert not missing
