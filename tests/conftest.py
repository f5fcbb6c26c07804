import os
import tempfile

import pytest
import torch

# keep the pseudo-label cache out of the user's home and out of the repository
os.environ.setdefault("MKE_CACHE", tempfile.mkdtemp(prefix="mke-test-cache-"))


@pytest.fixture(autouse=True)
def _fixed_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def twomoon():
    from mke.data.twomoon import twomoon_task

    return twomoon_task()
