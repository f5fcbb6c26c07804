"""The emotion chapter's networks (Section 4.2) through the same engine, at tiny input sizes."""
import pytest
import torch

from mke.algorithm import PseudoLabels, student_data, train_student
from mke.data.task import Task
from mke.methods import METHODS
from mke.models import MULTIMODAL_SIZES, MultimodalNet
from mke.train import TrainConfig, fit, predict
from mke.transforms import T3


def tiny_batch(n=4, frames=6, size=24, n_mfcc=20, steps=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"image": torch.rand(n, frames, size, size, generator=g), "audio": torch.randn(n, n_mfcc, steps, generator=g)}


@pytest.mark.parametrize("profile", ["quick", "book", "paper"])
def test_every_profile_runs_on_cpu_at_tiny_size(profile):
    torch.manual_seed(0)
    x = tiny_batch()
    um = MultimodalNet({"image": 6}, **MULTIMODAL_SIZES[profile])
    mm = MultimodalNet({"image": 6, "audio": 1}, **MULTIMODAL_SIZES[profile])
    assert um(x).shape == (4, 8) and mm(x).shape == (4, 8)
    assert mm.branches["audio"].out_dim == 4 * MULTIMODAL_SIZES[profile]["width"] * 16  # 4 x 4 map kept
    loss = mm(x, T3(0.5)).logsumexp(-1).mean()
    loss.backward()
    assert all(p.grad is not None for p in mm.parameters())


def test_dropout_t_acts_in_training_only():
    torch.manual_seed(0)
    mm = MultimodalNet({"image": 6, "audio": 1}, width=4, hidden=16)
    x = tiny_batch()
    mm.train()
    assert not torch.allclose(mm(x, T3(0.5)), mm(x, T3(0.5)))  # torch's global stream: new masks each call

    def seeded():
        return T3(0.5).with_generator(torch.Generator().manual_seed(0))

    with torch.no_grad():
        plain, a, b = mm(x), mm(x, seeded()), mm(x, seeded())
    assert torch.equal(a, b)  # the same generator seed, the same masks
    assert not torch.allclose(a, plain)  # T drops units: outputs change
    predicted = predict(mm, x)  # called in training mode: predict switches to eval itself
    assert not mm.training
    with torch.no_grad():
        assert torch.equal(predicted, mm(x))  # eval mode (BatchNorm's running statistics), no T
        assert not torch.allclose(predicted, plain)  # plain: training mode, batch statistics
    with pytest.raises(KeyError, match="missing"):
        mm({"image": x["image"]})


def test_dict_modalities_flow_through_student_training():
    """A task whose modalities stay separate tensors: student data, mini-batches, a loss that falls."""
    n = 64
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 8, (n,), generator=g)
    image = torch.rand(n, 2, 16, 16, generator=g) + y.view(-1, 1, 1, 1) * 0.1  # weakly informative
    audio = torch.randn(n, 1, 8, 8, generator=g) + y.view(-1, 1, 1, 1).float()  # strongly informative
    split = {"image": image, "audio": audio, "y": y}
    task = Task("toy", {"D_l": split, "D_u": split, "test": split}, ("image", "audio"), 8, concat=False)
    pseudo = PseudoLabels(torch.nn.functional.one_hot(y, 8).float())
    x, targets, _ = student_data(task, METHODS["noisy_student"], pseudo)
    assert set(x) == {"image"} and x["image"].shape[0] == 2 * n and targets.shape == (2 * n,)

    def make(method, seed):
        torch.manual_seed(seed)
        return MultimodalNet({m: task.splits["D_u"][m].shape[1] for m in method.modalities(task)}, 8, 4, 16)

    model = make(METHODS["mm_student"], 0)
    history = fit(model, task.inputs("D_u", ("image", "audio")), y, TrainConfig(epochs=30, lr=0.01, optimizer="adam",
                  batch_size=16, check_every=4), T=T3(0.5), generator=torch.Generator().manual_seed(0))
    assert history[-1] < history[0]
    student = train_student(task, METHODS["mm_student"], make, pseudo, TrainConfig(epochs=2, batch_size=16), T3(0.5), 0)
    assert predict(student, task.inputs("test", ("image", "audio"))).shape == (n, 8)
