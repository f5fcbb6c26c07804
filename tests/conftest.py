import os
import tempfile

import pytest
import torch

# every test session gets its own empty cache: tests never read or fill the user's $MKE_CACHE
# (and the cache tests can count the entries they create)
os.environ["MKE_CACHE"] = tempfile.mkdtemp(prefix="mke-test-cache-")


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
