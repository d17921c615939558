"""The model catalogue: public int8/uint8 TFLite classifiers `camtrap models fetch` can install.

Data only, pure. Every entry names where the files come from, their sha256 (the fetch refuses
anything else), their licence and the input size. ``verified`` says how the hash was checked:
``shared`` means it was computed from the very same file kept in ``../shared/models`` on the
project's development and CI machines (the files of google-coral/test_data); an entry whose
hash nobody here could compute would not be listed.

These are generic ImageNet models: they know ``leopard`` but also ``jaguar`` and ``cheetah``,
which a real Amur leopard is often taken for; see the Amur preset in docs/models.md
(``target_groups``) and ``camtrap adapt`` for training a head on your own photos.
"""

from __future__ import annotations

from dataclasses import dataclass

CORAL = "https://github.com/google-coral/test_data/raw/master/"
APACHE = "Apache-2.0"

IMAGENET_LABELS_SHA256 = "b8aaeb5630c62626a7d124a05c0e14230a7ffdd2136a31d0190a4fb71c1d82f1"

# The Amur leopard's range holds no jaguar, cheetah or snow leopard at camera-trap height, so a
# generic ImageNet model's reading of any of them is a leopard (docs/models.md).
AMUR_LEOPARD_GROUP = ("leopard", "jaguar", "cheetah", "snow leopard")


@dataclass(frozen=True)
class Download:
    url: str
    sha256: str
    size: int  # bytes, for the progress bar and a sanity check

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Entry:
    """One catalogued model: its files, what it is and how its hash was verified."""

    name: str
    model: Download
    labels: Download | None  # None: an embedding extractor (no classes)
    licence: str
    input_size: tuple[int, int]
    input_dtype: str
    kind: str  # "classifier" or "extractor"
    description: str
    verified: str  # "shared": sha256 computed from the same file in ../shared/models
    targets: tuple[str, ...] = ()
    target_groups: tuple[tuple[str, tuple[str, ...]], ...] = ()


_LABELS = Download(CORAL + "imagenet_labels.txt", IMAGENET_LABELS_SHA256, 21686)

CATALOGUE: tuple[Entry, ...] = (
    Entry(
        name="mobilenet-v2-imagenet",
        model=Download(
            CORAL + "mobilenet_v2_1.0_224_quant.tflite",
            "7aad0c74c5e3c06e5eb3c827e13304fdd68a83da6087d92ee169c24ff9fd4776",
            3610798,
        ),
        labels=_LABELS,
        licence=APACHE,
        input_size=(224, 224),
        input_dtype="uint8",
        kind="classifier",
        description="MobileNetV2 1.0 224, ImageNet 1000 classes + background, quantized (3.4 MiB)",
        verified="shared",
        targets=("leopard",),
        target_groups=(("leopard", AMUR_LEOPARD_GROUP),),
    ),
    Entry(
        name="mobilenet-v1-0.25-128-imagenet",
        model=Download(
            CORAL + "mobilenet_v1_0.25_128_quant.tflite",
            "cb273c23ee76374b05b9583177e28aa19744858a7679c56a250e83d0333da785",
            525598,
        ),
        labels=_LABELS,
        licence=APACHE,
        input_size=(128, 128),
        input_dtype="uint8",
        kind="classifier",
        description="MobileNetV1 0.25 128, ImageNet, quantized (0.5 MiB): fast, much less accurate",
        verified="shared",
        targets=("leopard",),
        target_groups=(("leopard", AMUR_LEOPARD_GROUP),),
    ),
    Entry(
        name="mobilenet-v1-embedding-extractor",
        model=Download(
            CORAL + "mobilenet_v1_1.0_224_quant_embedding_extractor.tflite",
            "f409ef4f73fcbb9667841965623c5c8524aac33d41b9bf5f3667161fb4a76319",
            3251736,
        ),
        labels=None,
        licence=APACHE,
        input_size=(224, 224),
        input_dtype="uint8",
        kind="extractor",
        description="MobileNetV1 1.0 224 without its classifier: 1024-d embeddings, the base "
        "of `camtrap adapt` (3.1 MiB)",
        verified="shared",
    ),
)


def find_entry(name: str) -> Entry | None:
    want = name.strip().casefold()
    return next((e for e in CATALOGUE if e.name.casefold() == want), None)
