import pytest
import torch


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
