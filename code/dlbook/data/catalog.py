"""The data sets the book uses, registered with their sources, checksums and licences.

Adding a data set is one :class:`~dlbook.data.registry.DatasetInfo` entry here plus a loader.
Checksums match the offline bundle's ``SHA256SUMS`` (see its ``MANIFEST.md``).
"""

from __future__ import annotations

from .registry import DatasetInfo, RemoteFile, register

_MNIST_MIRRORS = (
    "http://yann.lecun.com/exdb/mnist/{}",
    "https://ossci-datasets.s3.amazonaws.com/mnist/{}",
    "https://storage.googleapis.com/cvdf-datasets/mnist/{}",
)


def _mnist_file(name: str, sha256: str, size: int) -> RemoteFile:
    return RemoteFile(path=f"MNIST/raw/{name}", sha256=sha256, size=size,
                      urls=tuple(m.format(name) for m in _MNIST_MIRRORS))


MNIST = register(DatasetInfo(
    name="mnist",
    description="70,000 handwritten digits, 28x28 grey levels: 60,000 for training, 10,000 for testing.",
    license="Creative Commons Attribution-Share Alike 3.0 (as stated on the MNIST page)",
    citation="LeCun, Bottou, Bengio and Haffner, 'Gradient-based learning applied to document "
             "recognition', Proc. IEEE 86(11), 1998.",
    homepage="http://yann.lecun.com/exdb/mnist/",
    files=(
        _mnist_file("train-images-idx3-ubyte.gz",
                    "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9_912_422),
        _mnist_file("train-labels-idx1-ubyte.gz",
                    "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28_881),
        _mnist_file("t10k-images-idx3-ubyte.gz",
                    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1_648_877),
        _mnist_file("t10k-labels-idx1-ubyte.gz",
                    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4_542),
    ),
))


WATER_POTABILITY = register(DatasetInfo(
    name="water-potability",
    description="3,276 water samples: nine physico-chemical measurements (with missing values) and "
                "whether the water is safe to drink (1,278 potable, 1,998 not).",
    license="CC0: Public Domain (Kaggle dataset 'Water Quality' by Aditya Kadiwal)",
    citation="Aditya Kadiwal, 'Water Quality', Kaggle, 2021. "
             "https://www.kaggle.com/datasets/adityakadiwal/water-potability",
    homepage="https://www.kaggle.com/datasets/adityakadiwal/water-potability",
    files=(
        # Kaggle needs a login, so the download is a public byte-identical copy (LF line endings),
        # pinned to a commit so the checksum cannot drift. See the bundle's MANIFEST.md.
        RemoteFile(
            path="tabular/water_potability.csv",
            sha256="111a9ba65f2d791003ac07b54b8e18e2f7e0bc1cfa37cfdb251d3758a4e8c24c",
            size=521_910,
            urls=("https://raw.githubusercontent.com/aerionator/Water-Quality-Potability/"
                  "566e2a11ae0cb078baefc448ecdefb70cde43462/water_potability.csv",),
        ),
    ),
))
