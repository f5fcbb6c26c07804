"""Peak memory of pseudo-labelling and evaluating RGB-D frames at 480 x 640, streamed.

The engine never pushes a whole split through one forward pass: a teacher labels D_u batch by
batch into a compact top-k store on disk (mke.compact), and a student is scored by a metric
object fed batch by batch (mke.metrics.MeanIoU). This bench measures the process's peak
resident memory (ru_maxrss) for splits of two sizes, each in a fresh process, with frames at the
paper profile's input size (480 x 640, RGB + HHA, 40 classes), and extrapolates time and disk to
the paper's |D_u| = 1,488 (Table 3). Flat peak memory across split sizes is the claim; the
absolute figure depends on the model (here mke.models.DenseNet at width 16, a small stand-in
for the segmentation chapter's encoder-decoders).

    python bench/bench_stream_memory.py            # 16 and 128 frames, under a minute on 2 cores
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time

H, W, K, BATCH, TOP_K = 480, 640, 40, 4, 4


def child(n: int) -> dict:
    import torch

    from mke.algorithm import pseudo_label_split
    from mke.data.task import Task
    from mke.kinds import DENSE
    from mke.metrics import MeanIoU
    from mke.models import DenseNet
    from mke.train import predict

    torch.set_num_threads(2)

    class Frames(torch.utils.data.Dataset):
        """Synthetic frames made from their index: nothing is held in memory."""

        def __len__(self):
            return n

        def __getitem__(self, i):
            g = torch.Generator().manual_seed(i)
            return {"rgb": torch.rand(3, H, W, generator=g), "hha": torch.rand(3, H, W, generator=g),
                    "y": torch.randint(0, K, (H, W), generator=g)}

    task = Task("frames", {"D_u": Frames(), "test": Frames()}, ("rgb", "hha"), num_classes=K, concat=False, kind=DENSE)
    torch.manual_seed(0)
    teacher, student = DenseNet({"rgb": 3}, K, width=16), DenseNet({"rgb": 3, "hha": 3}, K, width=16)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        pseudo = pseudo_label_split(teacher, task, "D_u", soft=True, batch_size=BATCH, top_k=TOP_K, folder=tmp)
        t_label = time.perf_counter() - t0
        rss_label = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        metric = MeanIoU(K)
        for xb, yb in task.batches("test", ("rgb", "hha"), BATCH):
            metric.update(predict(student, xb), yb)
        metric.compute()
        t_eval = time.perf_counter() - t0
        store = pseudo.nbytes
    return {"n": n, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_rss_after_labelling_mb": rss_label, "label_s_per_frame": t_label / n,
            "eval_s_per_frame": t_eval / n, "store_bytes": store}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]))))
        return
    sizes = [int(a) for a in sys.argv[1:]] or [16, 128]
    runs = [json.loads(subprocess.run([sys.executable, __file__, "--child", str(n)], check=True,
                                      capture_output=True, text=True).stdout) for n in sizes]
    for r in runs:
        print(f"{r['n']:5d} frames: peak RSS {r['peak_rss_mb']:.0f} MB (after pseudo-labelling "
              f"{r['peak_rss_after_labelling_mb']:.0f} MB); {r['label_s_per_frame']:.2f} s/frame to label, "
              f"{r['eval_s_per_frame']:.2f} s/frame to evaluate; top-{TOP_K} store {r['store_bytes'] / 2**20:.0f} MiB")
    a, b = runs[0], runs[-1]
    print(f"peak memory ratio {b['n']} vs {a['n']} frames: {b['peak_rss_mb'] / a['peak_rss_mb']:.2f} "
          f"(1.00 = independent of the split's size)")
    n = 1488
    per_frame_store = b["store_bytes"] / b["n"]
    print(f"extrapolated to |D_u| = {n}: peak RSS as measured (it does not grow with N); top-{TOP_K} store on disk "
          f"{n * per_frame_store / 2**30:.2f} GiB; labelling {n * b['label_s_per_frame'] / 60:.1f} min, "
          f"evaluating {n * b['eval_s_per_frame'] / 60:.1f} min on this machine")
    whole = n * (6 * H * W * 4 + K * H * W * 4)
    print(f"for comparison, the split and float32 soft labels held whole: {whole / 2**30:.0f} GiB; "
          f"float16 soft labels alone: {n * K * H * W * 2 / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
