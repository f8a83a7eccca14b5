"""Pretrained weights through the data registry, loaded by torchvision's own code path.

torchvision's weights API fetches a release file into ``$TORCH_HOME/hub/checkpoints``.
:func:`prepare_torchvision_weights` puts the registry's checksum-verified copy of that file there
first (from the offline bundle, the cache, or a download from the same canonical URL), so that
torchvision finds it and downloads nothing. Load it with ``weights_only=True``::

    prepare_torchvision_weights(MobileNet_V2_Weights.IMAGENET1K_V1)
    model = mobilenet_v2()
    model.load_state_dict(MobileNet_V2_Weights.IMAGENET1K_V1.get_state_dict(weights_only=True))

(The one-liner ``mobilenet_v2(weights=...)`` loads the same file through
``torch.hub.load_state_dict_from_url``, whose default is ``weights_only=False``.)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .registry import DataError, _sha256, fetch_file, get_dataset_info, list_datasets

__all__ = ["prepare_torchvision_weights"]


def _registered(url: str) -> tuple[str, str]:
    for name in list_datasets():
        for f in get_dataset_info(name).files:
            if url in f.urls:
                return name, f.path
    raise ValueError(f"no registered data set provides {url}; registered weight files: "
                     + ", ".join(f.urls[0] for n in list_datasets()
                                 for f in get_dataset_info(n).files if f.path.endswith(".pth")))


def prepare_torchvision_weights(weights, *, root: str | os.PathLike | None = None,
                                download: bool | None = None) -> Path:
    """Place a torchvision weights file where ``torch.hub`` looks for it; return that path.

    Parameters
    ----------
    weights : torchvision.models.WeightsEnum member
        For example ``torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1``. Its ``url`` must be
        a registered file (see :func:`~dlbook.data.list_datasets`).
    root, download
        As for :func:`~dlbook.data.fetch_file`.

    The copy in the hub folder is replaced whenever its SHA-256 differs from the registry's, so
    the builder never loads a damaged or different file.
    """
    url = getattr(weights, "url", None)
    if not isinstance(url, str):
        raise TypeError(f"weights must be a torchvision weights enum member, got {weights!r}")
    dataset, path = _registered(url)
    source = fetch_file(dataset, path, root=root, download=download)
    import torch.hub

    target = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)
    expected = get_dataset_info(dataset).file(path).sha256
    if not (target.is_file() and _sha256(target) == expected):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        except OSError as err:
            raise DataError(f"cannot write {target} ({err}); set TORCH_HOME to a writable folder") from err
    return target
