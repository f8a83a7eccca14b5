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


_CIFAR_LICENSE = "No formal licence; cite the technical report (Krizhevsky, 2009)"
_CIFAR_CITATION = ("Alex Krizhevsky, 'Learning Multiple Layers of Features from Tiny Images', "
                   "Technical report, University of Toronto, 2009.")

CIFAR10 = register(DatasetInfo(
    name="cifar10",
    description="CIFAR-10 as released: 60,000 colour images of 32x32 pixels in 10 classes "
                "(50,000 training, 10,000 test), in the binary record format.",
    license=_CIFAR_LICENSE,
    citation=_CIFAR_CITATION,
    homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
    files=(
        RemoteFile(
            path="cifar10/cifar-10-binary.tar.gz",
            sha256="c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
            size=170_052_171,
            urls=("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",),
        ),
    ),
    extra={"bundled": False},
))

CIFAR10_SUBSET = register(DatasetInfo(
    name="cifar10-subset",
    description="A CIFAR-10 subset for offline builds: the first 2,000 training images of each class "
                "in the original order (20,000) and the full 10,000-image test set, decoded from JPEG "
                "copies (lossy: about 6 grey levels from the original pixels on average), sorted by class.",
    license=_CIFAR_LICENSE,
    citation=_CIFAR_CITATION,
    homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
    files=(
        RemoteFile(path="cifar10-subset/train.bin", size=61_460_000, urls=(),
                   sha256="a6d947ec704fa15db89e1739803cd3db231905bf9c311477ff0577a6da62e8d9"),
        RemoteFile(path="cifar10-subset/test.bin", size=30_730_000, urls=(),
                   sha256="cf28711b3059b27ed8a78d6529b5ba5b5c94130096ca62a1a924268a9a9ec05b"),
        RemoteFile(path="cifar10-subset/batches.meta.txt", size=60, urls=(),
                   sha256="2ce042b1e0b48db4bb214408e6414ba18b2731c24af244f2d6c112fddf31af00"),
    ),
    extra={"no_download": "it is derived for the offline bundle (see its MANIFEST.md). Online, "
                          "load_cifar10(variant='original') downloads the canonical archive."},
))

RPS28 = register(DatasetInfo(
    name="rps28",
    description="Rock-Paper-Scissors (Laurence Moroney): computer-generated hands, every image at 28x28 "
                "RGB; 2,520 training and 372 test images, classes paper, rock, scissors.",
    license="CC BY 2.0 (as stated on the data set's page, laurencemoroney.com/datasets)",
    citation="Laurence Moroney, 'Rock Paper Scissors Dataset', 2019. "
             "https://laurencemoroney.com/datasets.html",
    homepage="https://laurencemoroney.com/datasets.html",
    files=(
        RemoteFile(path="rps28/train.npz", size=2_224_234, urls=(),
                   sha256="fc61b322847acbc37facd7ce02d5e21245390860bcfc38d3b8f61e9c51326ba8"),
        RemoteFile(path="rps28/test.npz", size=331_865, urls=(),
                   sha256="5ae2f3fd08c154c8ba7172fce416c6c06f0c6a76a4db67f826a6e76ae28e958d"),
    ),
    extra={"no_download": "the 28-pixel version is derived for the offline bundle (see its "
                          "MANIFEST.md); the 300-pixel originals are "
                          "https://storage.googleapis.com/download.tensorflow.org/data/rps.zip and "
                          "rps-test-set.zip."},
))

_OMNIGLOT_LICENSE = "MIT (Copyright (c) 2015 Brenden Lake)"
_OMNIGLOT_CITATION = ("B. M. Lake, R. Salakhutdinov and J. B. Tenenbaum, 'Human-level concept learning "
                      "through probabilistic program induction', Science 350(6266):1332-1338, 2015.")

OMNIGLOT = register(DatasetInfo(
    name="omniglot",
    description="Omniglot's background set: 964 characters of 30 alphabets, 20 drawings each, "
                "105x105 black-and-white PNGs.",
    license=_OMNIGLOT_LICENSE,
    citation=_OMNIGLOT_CITATION,
    homepage="https://github.com/brendenlake/omniglot",
    files=(
        RemoteFile(
            path="omniglot/images_background.zip",
            sha256="ad41ab679c8b5d90b271ef46be6987cc81211774a695c29dcc5367b2b26ee640",
            size=9_464_212,
            urls=("https://raw.githubusercontent.com/brendenlake/omniglot/master/python/"
                  "images_background.zip",),
        ),
    ),
    extra={"bundled": False},
))

OMNIGLOT_SUBSET = register(DatasetInfo(
    name="omniglot-subset",
    description="Eight of Omniglot's 30 background alphabets (242 characters, 4,840 PNGs), "
                "byte-identical to those in the original images_background.zip.",
    license=_OMNIGLOT_LICENSE,
    citation=_OMNIGLOT_CITATION,
    homepage="https://github.com/brendenlake/omniglot",
    files=(
        RemoteFile(path="omniglot/images_background_subset.zip", size=2_132_792, urls=(),
                   sha256="d2c7c26ffbdbeebd0092cfb63bebf3c3281e1c5f0b03dc67c12bfe20b6d2943a"),
    ),
    extra={"no_download": "it is repacked for the offline bundle (see its MANIFEST.md). Online, "
                          "load_omniglot() reads the same alphabets from the original archive."},
))


def _hymenoptera_files() -> tuple[RemoteFile, ...]:
    from pathlib import Path
    lines = (Path(__file__).with_name("hymenoptera.sha256").read_text().splitlines())
    files = []
    for line in lines:
        if line and not line.startswith("#"):
            sha, size, path = line.split(" ", 2)
            files.append(RemoteFile(path=path, sha256=sha, size=int(size), urls=()))
    return tuple(files)


HYMENOPTERA_ARCHIVE_URL = "https://download.pytorch.org/tutorial/hymenoptera_data.zip"

HYMENOPTERA = register(DatasetInfo(
    name="hymenoptera",
    description="Ants and bees: 398 images from ImageNet packaged by the PyTorch transfer-learning "
                "tutorial (train: 124 ants, 121 bees; val: 70 ants, 83 bees).",
    license="ImageNet terms of access (non-commercial research and education); each image's own "
            "copyright. Tutorial code BSD-3-Clause.",
    citation="Sasank Chilamkurthy, 'Transfer Learning for Computer Vision Tutorial', PyTorch "
             "Tutorials. https://pytorch.org/tutorials/beginner/transfer_learning_tutorial.html",
    homepage="https://pytorch.org/tutorials/beginner/transfer_learning_tutorial.html",
    files=_hymenoptera_files(),
    extra={"no_download": "the files come inside the archive " + HYMENOPTERA_ARCHIVE_URL
                          + "; dlbook.data.hymenoptera_root() downloads and unpacks it.",
           "archive": HYMENOPTERA_ARCHIVE_URL},
))

MOBILENET_V2_IMAGENET = register(DatasetInfo(
    name="mobilenet-v2-imagenet",
    description="torchvision's MobileNetV2 ImageNet-1k weights (MobileNet_V2_Weights.IMAGENET1K_V1; "
                "acc@1 71.878, acc@5 90.286 as torchvision documents), the release file unchanged.",
    license="BSD-3-Clause (torchvision); trained on ImageNet-1k, whose terms of access "
            "(non-commercial research and education) apply to uses of the weights.",
    citation="M. Sandler, A. Howard, M. Zhu, A. Zhmoginov and L.-C. Chen, 'MobileNetV2: Inverted "
             "Residuals and Linear Bottlenecks', CVPR 2018.",
    homepage="https://pytorch.org/vision/stable/models/mobilenetv2.html",
    files=(
        RemoteFile(
            path="weights/mobilenet_v2-b0353104.pth",
            sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
            size=14_212_972,
            urls=("https://download.pytorch.org/models/mobilenet_v2-b0353104.pth",),
        ),
    ),
))


# Texts. Each URL is pinned to a commit so that its bytes, and so the checksum, cannot drift.
TINY_SHAKESPEARE = register(DatasetInfo(
    name="tiny-shakespeare",
    description="Tiny Shakespeare: 40,000 lines (1,115,394 characters) from Shakespeare's plays, "
                "compiled by Andrej Karpathy for char-rnn.",
    license="The plays are in the public domain; the compilation comes from the char-rnn "
            "repository (MIT licence).",
    citation="Andrej Karpathy, char-rnn, 2015. https://github.com/karpathy/char-rnn",
    homepage="https://github.com/karpathy/char-rnn",
    files=(
        RemoteFile(path="text/tinyshakespeare.txt", size=1_115_394,
                   sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                   urls=("https://raw.githubusercontent.com/karpathy/char-rnn/"
                         "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt",)),
    ),
))

NAMES = register(DatasetInfo(
    name="names",
    description="32,033 first names, one per line, lower case a-z: the training data of makemore.",
    license="MIT (c) 2022 Andrej Karpathy (makemore); the names come from US Social Security "
            "Administration baby-name data, a US government work.",
    citation="Andrej Karpathy, makemore, 2022. https://github.com/karpathy/makemore",
    homepage="https://github.com/karpathy/makemore",
    files=(
        RemoteFile(path="text/names.txt", size=228_145,
                   sha256="0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
                   urls=("https://raw.githubusercontent.com/karpathy/makemore/"
                         "988aa59e4d8fefa526d06f3b453ad116258398d4/names.txt",)),
    ),
))

ALICE = register(DatasetInfo(
    name="alice",
    description="Lewis Carroll, Alice's Adventures in Wonderland (Project Gutenberg eBook #11, "
                "Millennium Fulcrum Edition 3.0), plain UTF-8 text without the Gutenberg header.",
    license="Public domain in the USA (Project Gutenberg).",
    citation="Lewis Carroll, Alice's Adventures in Wonderland, 1865. Project Gutenberg eBook #11.",
    homepage="https://www.gutenberg.org/ebooks/11",
    files=(
        RemoteFile(path="text/pg11_alices_adventures_in_wonderland.txt", size=151_095,
                   sha256="f17aa0bf7466424a8b357b688678666bad7a0148963ef349016a3098faa6bd1e",
                   urls=("https://raw.githubusercontent.com/gutenbergbooks/11/"
                         "5e5120e12a58a10254e0e6a42661d887e61c2aac/11-0.txt",)),
    ),
))

OZ = register(DatasetInfo(
    name="oz",
    description="L. Frank Baum, The Wonderful Wizard of Oz (Project Gutenberg eBook #55), plain "
                "UTF-8 text between the Gutenberg START and END markers.",
    license="Public domain in the USA (Project Gutenberg).",
    citation="L. Frank Baum, The Wonderful Wizard of Oz, 1900. Project Gutenberg eBook #55.",
    homepage="https://www.gutenberg.org/ebooks/55",
    files=(
        RemoteFile(path="text/pg55_the_wonderful_wizard_of_oz.txt", size=212_801,
                   sha256="3d4a52fee8d4756f35e64013efa9ab0eff918d90d8416a62cd9aa34c6cb1dc65",
                   urls=("https://raw.githubusercontent.com/gutenbergbooks/55/"
                         "bb5cff1dd905013946b6eb833497636762abfe38/55-0.txt",)),
    ),
))

_UCI_COMMIT = "https://raw.githubusercontent.com/Nanofication/TWC-Naive-Bayes/5bc4715169b40c627e082a27321215a2719a0347/"

UCI_SENTIMENT = register(DatasetInfo(
    name="uci-sentiment",
    description="UCI Sentiment Labelled Sentences: 3,000 review sentences labelled positive (1) or "
                "negative (0), 1,000 each from Amazon, IMDb and Yelp, 500 of each label per site.",
    license="CC BY 4.0 (UCI Machine Learning Repository)",
    citation="D. Kotzias, M. Denil, N. de Freitas and P. Smyth, 'From Group to Individual Labels "
             "using Deep Features', KDD 2015.",
    homepage="https://archive.ics.uci.edu/dataset/331/sentiment+labelled+sentences",
    files=(
        # The UCI zip holds these files among others; byte-identical copies, pinned to a commit.
        RemoteFile(path="text/amazon_cells_labelled.txt", size=58_226,
                   sha256="47003fc0a0d4840b00e96e715b6189bad09e7443a3da41c4cbe12ffc79f86ae3",
                   urls=(_UCI_COMMIT + "amazon_cells_labelled.txt",)),
        RemoteFile(path="text/imdb_labelled.txt", size=85_285,
                   sha256="aef2e49e3da25714d61175e3a6e68eeef74a20a2f914318dc3be9947ea86512d",
                   urls=(_UCI_COMMIT + "Datasets/imdb_labelled.txt",)),
        RemoteFile(path="text/yelp_labelled.txt", size=61_320,
                   sha256="c76468b7b5c6e56a0804d728345c5f84aa2142ddb214420f61cc9cfd4c00d2ea",
                   urls=(_UCI_COMMIT + "Datasets/yelp_labelled.txt",)),
        RemoteFile(path="text/sentiment_labelled_sentences_readme.txt", size=1_070,
                   sha256="736c26aa54e3614459e50314ece0698051f0923d108ed53938dcb1aa0483bfd4",
                   urls=(_UCI_COMMIT + "Datasets/readme.txt",)),
    ),
))

_NEWSGROUPS_LICENSE = "No formal licence; widely used for research (collected by Ken Lang)"
_NEWSGROUPS_CITATION = ("Ken Lang, 'NewsWeeder: Learning to Filter Netnews', ICML 1995; the "
                        "'bydate' version by Jason Rennie, http://qwone.com/~jason/20Newsgroups/")

NEWSGROUPS = register(DatasetInfo(
    name="20newsgroups",
    description="20 Newsgroups, 'bydate' version as released: 18,846 posts in 20 groups, split by "
                "date into 11,314 for training and 7,532 for testing.",
    license=_NEWSGROUPS_LICENSE,
    citation=_NEWSGROUPS_CITATION,
    homepage="http://qwone.com/~jason/20Newsgroups/",
    files=(
        # scikit-learn's mirror of the original archive, with the checksum scikit-learn checks.
        RemoteFile(path="20newsgroups-original/20news-bydate.tar.gz", size=14_464_277,
                   sha256="8f1b2514ca22a5ade8fbb9cfa5727df95fa587f4c87b786e15c759fa66d95610",
                   urls=("https://ndownloader.figshare.com/files/5975967",)),
    ),
    extra={"bundled": False},
))

NEWSGROUPS_BUNDLE = register(DatasetInfo(
    name="20newsgroups-bundle",
    description="The offline bundle's copy of 20 Newsgroups 'bydate': the same 18,846 posts in "
                "the same folders, re-archived from two checked copies (see the bundle's "
                "MANIFEST.md), so its checksum differs from the original archive's.",
    license=_NEWSGROUPS_LICENSE,
    citation=_NEWSGROUPS_CITATION,
    homepage="http://qwone.com/~jason/20Newsgroups/",
    files=(
        RemoteFile(path="20newsgroups/20news-bydate.tar.gz", size=14_388_697, urls=(),
                   sha256="deefb6cd45bf257a5ec0ce05817990644675ab766496399c4bb45b4b31fe71d9"),
    ),
    extra={"no_download": "it is re-archived for the offline bundle (see its MANIFEST.md). Online, "
                          "load_20newsgroups() downloads the original archive instead."},
))

GLOVE_50D = register(DatasetInfo(
    name="glove-50d-top50k",
    description="GloVe 6B word vectors, 50 dimensions, for the 50,000 most frequent tokens (the "
                "first 50,000 lines of glove.6B.50d.txt), gzip-compressed text without a header.",
    license="Open Data Commons Public Domain Dedication and License (PDDL 1.0)",
    citation="J. Pennington, R. Socher and C. D. Manning, 'GloVe: Global Vectors for Word "
             "Representation', EMNLP 2014.",
    homepage="https://nlp.stanford.edu/projects/glove/",
    files=(
        RemoteFile(path="glove/glove.6B.50d.top50k.txt.gz", size=8_467_173, urls=(),
                   sha256="49b92c85282e1585adcabcf147d9ce9423966afb3830e622d053d1db46cd3f98"),
    ),
    extra={"no_download": "it is cut from Stanford's 822 MB glove.6B.zip for the offline bundle. "
                          "Online, load_glove() takes the same vectors from gensim-data's "
                          "'glove-wiki-gigaword-50' (gensim's downloader checks that file)."},
))
