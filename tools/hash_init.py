"""The hash_gpt2 weight rule of engine/model/gpt2.cpp in NumPy, bit for bit.

Used on a machine with Hugging Face transformers to build the same random-weight GPT-2 as
`attnlab-cli init-model --init hash`, without shipping hundreds of MB of weights.
"""
import numpy as np

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(z):
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def hf_names(n_layer, tied=True):
    names = ["wte.weight", "wpe.weight"]
    for i in range(n_layer):
        p = f"h.{i}."
        names += [p + s for s in ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                                  "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                                  "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"]]
    names += ["ln_f.weight", "ln_f.bias"]
    return names


def hash_tensors(shapes, n_layer, seed):
    """shapes: dict name -> shape, in hf_names order. Returns dict name -> float32 array."""
    with np.errstate(over="ignore"):
        amp_w = np.float32(0.02 * np.sqrt(3.0))
        amp_proj = np.float32(0.02 / np.sqrt(2.0 * n_layer) * np.sqrt(3.0))
        out = {}
        for t, name in enumerate(hf_names(n_layer)):
            shape = shapes[name]
            n = int(np.prod(shape))
            base = (np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(t + 1) * np.uint64(0xBF58476D1CE4E5B9))
            z = _splitmix64(base + np.arange(n, dtype=np.uint64))
            u = (z >> np.uint64(40)).astype(np.int64).astype(np.float32) / np.float32(8388608.0) - np.float32(1.0)
            is_ln = "ln_" in name
            is_w = name.endswith(".weight")
            if is_ln:
                v = np.float32(1.0) + np.float32(0.1) * u if is_w else np.float32(0.1) * u
            elif is_w:
                v = u * (amp_proj if "c_proj.weight" in name else amp_w)
            else:
                v = np.float32(0.02) * u
            out[name] = v.astype(np.float32).reshape(shape)
        return out
