"""ImageNet16-120 reader: the 16×16 downsampled ImageNet of Chrabaszcz et al. (2017), cut to 120 classes as in
NAS-Bench-201.

Layout expected under the data directory (``--data-dir`` / ``$NAS_HARNESS_DATA``) or given directly:
``ImageNet16/`` with ``train_data_batch_1`` … ``train_data_batch_10`` and ``val_data`` (what the "Imagenet16_train"
and "Imagenet16_val" downloads of https://image-net.org/download-images extract to — the same folder NAS-Bench-201's
AutoDL-Projects code reads). Each file is a pickled dict with ``data`` (uint8, N × 768: the R, G, B planes of a
16×16 image) and ``labels`` (1-based class ids 1..1000); train batches also carry a ``mean`` entry (unused).

The 120-class subset: NAS-Bench-201 keeps the images whose 1-based label is in 1..120 and shifts labels to 0..119
(AutoDL-Projects ``ImageNet16(..., use_num_of_class_only=120)``). That leaves 151,700 training images and 6,000
validation images (50 per class); NAS-Bench-201 reports "test" accuracy on half of those 6,000 ("x-test") and used
the other half ("x-valid") for search. The reader returns the full 120-class train and val parts; how a benchmark
splits val is the benchmark's business (see :mod:`harness.benchmarks.loaders.nb201`).

Checksums, the restricted unpickler and the missing-data message work as for CIFAR (:mod:`harness.data.cifar`).
"""

from __future__ import annotations

import os

import numpy as np

from harness.data.cifar import ImageArrays, PickleDataset, locate, read_part, verify_default, verify_files
from harness.errors import DataError

NUM_CLASSES_NB201 = 120
#: image counts of the 120-class subset (AutoDL-Projects asserts these)
TRAIN_SIZE_120, VAL_SIZE_120 = 151_700, 6_000

IMAGENET16 = PickleDataset(
    name="ImageNet16",
    folder="ImageNet16",
    train_files=(
        ("train_data_batch_1", "27846dcaa50de8e21a7d1a35f30f0e91"),
        ("train_data_batch_2", "c7254a054e0e795c69120a5727050e3f"),
        ("train_data_batch_3", "4333d3df2e5ffb114b05d2ffc19b1e87"),
        ("train_data_batch_4", "1620cdf193304f4a92677b695d70d10f"),
        ("train_data_batch_5", "348b3c2fdbb3940c4e9e834affd3b18d"),
        ("train_data_batch_6", "6e765307c242a1b3d7d5ef9139b48945"),
        ("train_data_batch_7", "564926d8cbf8fc4818ba23d2faac7564"),
        ("train_data_batch_8", "f4755871f718ccb653440b9dd0ebac66"),
        ("train_data_batch_9", "bb6dd660c38c58552125b1a92f86b5d4"),
        ("train_data_batch_10", "8f03f34ac4b42271a294f91bf480f29b"),
    ),
    test_files=(("val_data", "3410e3017fdaefba8d5073aaa65e4bd6"),),
    meta_file=None,
    label_key="labels",
    num_classes=1001,  # labels are 1-based 1..1000; the range check below is on the raw ids
    image_size=16,
    archive="the Imagenet16_train / Imagenet16_val downloads of https://image-net.org/download-images",
    mean=(122.68 / 255, 116.66 / 255, 104.01 / 255),
    std=(63.22 / 255, 61.26 / 255, 65.09 / 255),
)


def keep_classes(part: ImageArrays, num_classes: int) -> ImageArrays:
    """The images whose 1-based label is in 1..num_classes, labels shifted to 0..num_classes-1 (order kept)."""
    keep = (part.y >= 1) & (part.y <= num_classes)
    return ImageArrays(np.ascontiguousarray(part.x[keep]), part.y[keep] - 1)


def read_imagenet16(
    root: str | os.PathLike[str] | None = None, *, num_classes: int = NUM_CLASSES_NB201, verify: bool | None = None
) -> tuple[ImageArrays, ImageArrays]:
    """``(train, val)`` of ImageNet16 restricted to the first ``num_classes`` classes, labels 0-based.

    ``root`` None means the user's data directory; ``verify`` None follows ``$NAS_HARNESS_VERIFY_CHECKSUMS``.
    """
    if not 1 <= num_classes <= 1000:
        raise DataError(f"ImageNet16 has 1000 classes; cannot keep {num_classes}")
    folder = locate(IMAGENET16, root)
    if verify_default() if verify is None else verify:
        verify_files(IMAGENET16, folder, IMAGENET16.all_files)
    train = read_part(IMAGENET16, folder, IMAGENET16.train_files)
    val = read_part(IMAGENET16, folder, IMAGENET16.test_files)
    if min(train.y.min(initial=1), val.y.min(initial=1)) < 1:
        raise DataError(f"ImageNet16 files in {folder} hold label 0: the labels must be 1-based (1..1000)")
    return keep_classes(train, num_classes), keep_classes(val, num_classes)
