"""PyTorch reference for bench/training.ts: the same MLPs, batch sizes, synthetic data sizes, Adam and
timing rule, on one thread. Run by bench/torch.ts, which passes the cases as one JSON argument
(see bench/cases.ts) and reads one JSON object from stdout:
  {"info": {...torch version, BLAS...}, "results": {"train.torch.<model>.b<batch>.samplesPerSec": ...}}

The step is the idiomatic loop: zero_grad, forward, cross-entropy (log-softmax + NLL, the same
function as softmax + cross-entropy), backward, Adam step, loss.item(). redgrad's loop also counts
correct predictions and checks the gradient is finite; torch is not charged for those.
"""
import ctypes
import json
import re
import os
import statistics
import sys
import time

import torch


def blas_info():
    """Which BLAS the process actually loaded (not just what torch was built against)."""
    info = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "mkl": torch.backends.mkl.is_available(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "threadEnv": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL_"))},
    }
    config = torch.__config__.show()
    info["build"] = re.findall(r"(?:BLAS_INFO|LAPACK_INFO|USE_MKLDNN|USE_OPENMP)=[^,\s]*|CPU capability usage: \w+", config)
    # Run one product first so a lazily loaded BLAS is mapped.
    torch.randn(64, 64) @ torch.randn(64, 64)
    loaded = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            name = os.path.basename(path)
            if any(s in name for s in ("blas", "mkl", "lapack", "dnnl", "gomp", "omp")):
                loaded.add(os.path.realpath(path))
    info["loadedLibraries"] = sorted(loaded)
    for path in sorted(loaded):
        if "openblas" not in path:
            continue
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            info["openblasConfig"] = lib.openblas_get_config().decode()
            info["openblasCore"] = lib.openblas_get_corename().decode()
            info["openblasThreads"] = lib.openblas_get_num_threads()
            break
        except (OSError, AttributeError):
            pass
    return info


def make_model(model):
    layers = []
    inputs = model["features"]
    for h in model["hidden"]:
        layers.append(torch.nn.Linear(inputs, h["size"]))
        layers.append(torch.nn.ReLU() if h["activation"] == "relu" else torch.nn.Tanh())
        inputs = h["size"]
    layers.append(torch.nn.Linear(inputs, model["classes"]))
    return torch.nn.Sequential(*layers)


def time_training(model, batch, lr, timing):
    """Samples/s of each timing window, by the rule of bench/cases.ts TIMING."""
    gen = torch.Generator().manual_seed(1)
    n = model["samples"]
    x = torch.rand(n, model["features"], generator=gen)  # [n, features] in [0, 1)
    y = torch.randint(model["classes"], (n,), generator=gen)  # [n] class index
    net = make_model(model)
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    loss_fn = torch.nn.CrossEntropyLoss()

    ms = lambda: time.perf_counter() * 1000.0
    t0 = ms()
    measure_from = t0 + timing["warmupMs"]
    measure_until = measure_from + timing["caseMs"]
    window_start, window_samples, samples = -1.0, 0, 0
    rates = []
    while True:
        order = torch.randperm(n, generator=gen)
        for a in range(0, n, batch):
            idx = order[a : a + batch]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            loss.item()
            samples += len(idx)
            now = ms()
            if window_start < 0:
                if now >= measure_from:
                    window_start, window_samples = now, samples
                continue
            if now - window_start < timing["windowMs"]:
                continue
            rates.append((samples - window_samples) * 1000.0 / (now - window_start))
            window_start, window_samples = now, samples
            if now >= measure_until:
                return rates


def main():
    cases = json.loads(sys.argv[1])
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.manual_seed(1)
    info = blas_info()
    results = {}
    for model in cases["models"]:
        for batch in model["batches"]:
            rates = time_training(model, batch, cases["lr"], cases["timing"])
            key = f"train.torch.{model['name']}.b{batch}.samplesPerSec"
            results[key] = max(rates)
            results[key + ".median"] = statistics.median(rates)
    json.dump({"info": info, "results": results}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
