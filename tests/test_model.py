import functools

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multimodal_photoz.model import (BACKBONES, ModelConfig, PhotoZNet, count_params,
                                     init_params, make_config)
from multimodal_photoz.model.layers import InceptionBlock, pointwise_convs
from multimodal_photoz.model.trunk import (BRANCH_WIDTHS, TABLE_C1_WIDTHS, Trunk, branch_scale,
                                           branch_stem_scale, trunk_scale)


def shapes(config, stamp, batch=2):
    """Output shapes through shape inference only (no compilation)."""
    model = PhotoZNet(config)
    images = jax.ShapeDtypeStruct((batch, stamp, stamp, config.n_bands), jnp.float32)
    ebv = jax.ShapeDtypeStruct((batch,), jnp.float32)
    def run(key, images, ebv):
        variables = model.init(key, images, ebv)
        return model.apply(variables, images, ebv)
    out = jax.eval_shape(run, jax.random.key(0), images, ebv)
    return {k: v.shape for k, v in out.items()}


@pytest.mark.parametrize("backbone", sorted(BACKBONES))
def test_every_fusion_stage_of_every_backbone(backbone):
    for stage in BACKBONES[backbone].fusion_depth:
        config = make_config("ugriz", modality_size=2, fusion=stage, backbone=backbone,
                             width=0.1, n_bins=30)
        out = shapes(config, 32)
        assert out["pdf"] == (2, 30) and out["logits"] == (2, 30)
        assert out["z_regression"] == (2,)


@pytest.mark.parametrize("stamp", [16, 20, 48, 64, 128])
def test_stamp_sizes(stamp):
    config = make_config("ugrizyjhk", modality_size=2, width=0.1, n_bins=10)
    assert shapes(config, stamp)["pdf"] == (2, 10)


def test_head_is_the_papers_at_64_pixels():
    # 64 -> pools -> 8x8; three VALID 3x3 convs give 6, 4, 2; the last pool gives 1x1x96.
    config = make_config("ugriz", modality_size=None, width=1.0, n_bins=180, z_max=0.4)
    params = jax.eval_shape(lambda k: init_params(config, k, 64), jax.random.key(0))
    assert params["head"]["conv2"]["kernel"].shape == (3, 3, 96, 96)
    # common k = 155 (table_c1): 2k + int(0.65 k) + int(0.7 k) = 310 + 100 + 108 channels
    assert params["head"]["conv0"]["kernel"].shape == (3, 3, 518, 96)
    assert params["fc1"]["kernel"].shape == (102, 1024)  # 96 latent + E(B-V) + 5 band flags
    assert params["common"]["block8"]["b5_conv5x5"]["kernel"].shape == (5, 5, 100, 155)
    paper = make_config("ugriz", modality_size=None, width=1.0, n_bins=180, z_max=0.4,
                        band_mask_input=False)
    paper_params = jax.eval_shape(lambda k: init_params(paper, k, 64), jax.random.key(0))
    assert paper_params["fc1"]["kernel"].shape == (97, 1024)  # the paper's: latent + E(B-V)


def test_the_band_mask_reaches_the_head_only_when_asked():
    images = jax.random.normal(jax.random.key(1), (2, 16, 16, 3))
    ebv, absent = jnp.zeros(2), jnp.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    for flag in (True, False):
        config = make_config("gri", modality_size=None, width=0.1, n_bins=8, z_max=1.0,
                             band_mask_input=flag)
        params = init_params(config, jax.random.key(0), 16)
        apply = jax.jit(PhotoZNet(config).apply)
        a = apply({"params": params}, images, ebv, band_mask=absent)["logits"]
        b = apply({"params": params}, images, ebv)["logits"]  # None: every band present
        assert bool(jnp.allclose(a[1], b[1]))  # row 1 has every band either way
        assert bool(jnp.allclose(a[0], b[0])) is (not flag)


def test_branches_are_stacked_per_modality_size():
    config = make_config("ugrizyjhk", modality_size=2, orders=(1,), include_all=True, width=0.25,
                         n_bins=10)
    params = jax.eval_shape(lambda k: init_params(config, k, 16), jax.random.key(0))
    # eight 2-band branches share one stacked parameter tree; the all-band one has its own
    assert params["branches_size2"]["stem"]["conv5x5"]["kernel"].shape[0] == 8
    assert params["branches_size9"]["stem"]["conv5x5"]["kernel"].shape[0] == 1


def test_inception_block_parameter_count_by_hand():
    # k = 156: reduce = int(0.65 k) = 101, b1 = int(0.7 k) = 109, input c = 10
    c = 10
    expected = (3 * (c * 101 + 101) + (c * 109 + 109)       # 1x1 convs
                + (25 * 101 * 156 + 156) + (9 * 101 * 156 + 156))  # 5x5 and 3x3
    params = jax.eval_shape(InceptionBlock(scale=1.0).init, jax.random.key(0),
                            jnp.zeros((1, 8, 8, c)))
    got = sum(np.prod(x.shape) for x in jax.tree.leaves(params))
    assert got == expected
    out = jax.eval_shape(InceptionBlock(scale=1.0).apply, params, jnp.zeros((1, 8, 8, c)))
    assert out.shape == (1, 8, 8, 156 + 156 + 101 + 109)


def test_stacked_branches_equal_separate_branches():
    """The vmapped group computes exactly what each branch would compute alone."""
    config = make_config("ugri", modality_size=2, fusion="early", width=0.2, n_bins=8)
    model = PhotoZNet(config)
    images = jax.random.normal(jax.random.key(1), (2, 16, 16, 4))
    ebv = jnp.zeros(2)
    variables = {"params": init_params(config, jax.random.key(0), 16)}
    _, state = jax.jit(functools.partial(model.apply, mutable=["intermediates"]))(
        variables, images, ebv)
    fused = state["intermediates"]["fused"][0]
    stacked = variables["params"]["branches_size2"]
    branch = Trunk(backbone="inception", start=0, stop=2,
                   scale=branch_scale(0.2, 2, 4, config.branch_width),
                   stem_scale=branch_stem_scale(0.2, 2, 4, config.branch_width), with_stem=True)
    mods = config.resolved_modalities()
    pieces = []
    for j, m in enumerate(mods):
        p = jax.tree.map(lambda leaf: leaf[j], stacked)
        x = images[..., [config.bands.index(b) for b in m]]
        pieces.append(jax.jit(branch.apply)({"params": p}, x))
    np.testing.assert_allclose(fused, jnp.concatenate(pieces, -1), rtol=2e-5, atol=2e-5)


def test_pdf_is_normalized_and_drop_modalities_zeroes_a_branch():
    config = make_config("ugriz", modality_size=2, width=0.2, n_bins=12)
    model = PhotoZNet(config)
    images = jax.random.normal(jax.random.key(2), (3, 16, 16, 5))
    ebv = jnp.full(3, 0.02)
    variables = {"params": init_params(config, jax.random.key(0), 16)}
    out, state = jax.jit(functools.partial(model.apply, drop_modalities=("g_r",),
                                           mutable=["intermediates"]))(variables, images, ebv)
    np.testing.assert_allclose(out["pdf"].sum(-1), 1.0, rtol=1e-5)
    fused = state["intermediates"]["fused"][0]
    per_branch = fused.shape[-1] // 4
    assert float(jnp.abs(fused[..., per_branch:2 * per_branch]).max()) == 0.0
    assert float(jnp.abs(fused[..., :per_branch]).max()) > 0.0
    with pytest.raises(ValueError, match="unknown modality 'u_r'"):
        jax.eval_shape(functools.partial(model.apply, drop_modalities=("u_r",)),
                       variables, images, ebv)


def test_modality_dropout_in_training_drops_whole_branches():
    config = make_config("ugrizy", modality_size=2, width=0.1, n_bins=8, modality_dropout=3)
    model = PhotoZNet(config)
    images = jax.random.normal(jax.random.key(2), (2, 16, 16, 6))
    ebv = jnp.zeros(2)
    variables = {"params": init_params(config, jax.random.key(0), 16)}
    apply = jax.jit(functools.partial(model.apply, train=True, mutable=["intermediates"]))
    counts = set()
    for seed in range(12):
        _, state = apply(variables, images, ebv, rngs={"modality_dropout": jax.random.key(seed)})
        fused = np.asarray(state["intermediates"]["fused"][0])
        fused = fused.reshape(fused.shape[:3] + (5, -1))
        dropped = int((np.abs(fused).max(axis=(0, 1, 2, 4)) == 0).sum())
        assert 0 <= dropped <= 3
        counts.add(dropped)
    assert len(counts) > 1


def test_baseline_is_one_modality_of_all_bands():
    config = make_config("ugriz", modality_size=None, width=0.1)
    assert config.is_baseline and config.resolved_modalities() == (tuple("ugriz"),)
    params = jax.eval_shape(lambda k: init_params(config, k, 16), jax.random.key(0))
    # its branch is the 5-band one of the width rule: 50 stem filters per band, times width
    assert list(params["branches_size5"]["stem"]["conv5x5"]["kernel"].shape) == [1, 5, 5, 5, 25]


def test_count_params_grows_with_width_and_config_round_trips():
    small = make_config("ugriz", modality_size=2, width=0.25)
    large = make_config("ugriz", modality_size=2, width=0.5)
    assert 0 < count_params(small) < count_params(large)
    assert ModelConfig.from_dict(small.to_dict()) == small


@pytest.mark.parametrize("kwargs,message", [
    (dict(bands="ugrq"), "unknown band 'q'"),
    (dict(modality_size=6), "larger than the number of bands"),
    (dict(backbone="cnn5", fusion="late"), "backbone 'cnn5' has no fusion stage 'late'"),
    (dict(fusion="earliest"), "has no fusion stage 'earliest'"),
    (dict(backbone="resnet"), "unknown backbone 'resnet'"),
    (dict(modality_size=None, fusion_type="cross"), "cross fusion needs at least two"),
    (dict(modality_dropout=4, modality_size=2), "modality_dropout=4 must be in 0..3"),
    (dict(z_min=1.0, z_max=0.5), "z_min < z_max"),
])
def test_bad_configs_say_what_is_wrong(kwargs, message):
    kwargs = {"bands": "ugriz", **kwargs}
    with pytest.raises(ValueError) as info:
        make_config(**kwargs)
    assert message in str(info.value)


def test_wrong_image_shape_is_refused():
    config = make_config("ugriz", modality_size=2, width=0.1)
    init = lambda images: jax.eval_shape(
        lambda k: PhotoZNet(config).init(k, images, jnp.zeros(1)), jax.random.key(0))
    with pytest.raises(ValueError, match=r"images must be \(B, H, W, 5\)"):
        init(jnp.zeros((1, 16, 16, 4)))
    with pytest.raises(ValueError, match="at least 8 pixels"):
        init(jnp.zeros((1, 4, 4, 5)))


def test_initialization_follows_flax_defaults_and_the_key():
    config = make_config("ugriz", modality_size=2, width=0.5, n_bins=10)
    params = init_params(config, jax.random.key(0), 16)
    again = init_params(config, jax.random.key(0), 16)
    other = init_params(config, jax.random.key(1), 16)
    kernel = params["common"]["block3"]["b5_conv5x5"]["kernel"]  # (5, 5, c_in, c_out)
    fan_in = 5 * 5 * kernel.shape[2]
    assert abs(float(kernel.std()) * np.sqrt(fan_in) - 1.0) < 0.05  # LeCun: var = 1/fan_in
    assert float(jnp.abs(kernel).max()) <= 2.0 / 0.8796 / np.sqrt(fan_in) + 1e-6  # truncated
    assert float(jnp.abs(params["fc1"]["bias"]).max()) == 0.0
    np.testing.assert_allclose(params["branches_size2"]["stem"]["prelu"]["negative_slope"], 0.01)
    stacked = params["branches_size2"]["block1"]["b3_conv3x3"]["kernel"]
    assert not np.allclose(stacked[0], stacked[1])  # branches start different
    chex.assert_trees_all_equal(params, again)
    assert not np.array_equal(other["fc1"]["kernel"], params["fc1"]["kernel"])


def test_branch_convolution_implementations_agree():
    """Split, batched-matmul and grouped-convolution branches: same parameters, same
    outputs and same gradients (the split convolution has its own backward pass)."""
    images = jax.random.normal(jax.random.key(1), (2, 16, 16, 4))
    outs, grads = {}, {}
    for impl in ("split", "matmul", "lax"):
        config = make_config("ugri", modality_size=2, fusion="very_early", width=0.2, n_bins=8,
                             branch_conv=impl)
        params = init_params(config, jax.random.key(0), 16)
        apply = PhotoZNet(config).apply
        outs[impl] = jax.jit(apply)({"params": params}, images, jnp.zeros(2))
        grads[impl] = jax.jit(jax.grad(lambda p: jnp.sum(
            apply({"params": p}, images, jnp.zeros(2))["logits"] ** 2)))(params)
    for impl in ("matmul", "lax"):
        np.testing.assert_allclose(outs["split"]["logits"], outs[impl]["logits"], rtol=1e-4,
                                   atol=1e-5)
        chex.assert_trees_all_close(grads["split"], grads[impl], rtol=1e-3, atol=1e-5)
    stem = grads["split"]["branches_size2"]["stem"]["conv5x5"]["kernel"]
    assert stem.shape[0] == 3  # u_g, g_r, r_i: one kernel per branch


def _filters(config, stamp=16):
    """(branch stem filters, branch k, common-trunk k) of the first branch group."""
    params = jax.eval_shape(lambda k: init_params(config, k, stamp), jax.random.key(0))
    branches = next(v for name, v in params.items() if name.startswith("branches_size"))
    return (branches["stem"]["conv5x5"]["kernel"].shape[-1],
            branches["block1"]["b5_conv5x5"]["kernel"].shape[-1],
            params["common"]["block8"]["b5_conv5x5"]["kernel"].shape[-1])


def test_branch_width_rules():
    w = TABLE_C1_WIDTHS
    for s in (1, 2, 9):  # table_c1: branch filters in proportion to s, its own trunk k
        config = make_config("ugrizyjhk", modality_size=None if s == 9 else s, n_bins=10)
        assert config.branch_width == "table_c1"  # the default
        assert _filters(config) == (w.stem_per_band * s, w.k_per_band * s, w.trunk_k)
    quarter = make_config("ugrizyjhk", modality_size=2, width=0.25, n_bins=10)  # width on all
    assert _filters(quarter) == (round(w.stem_per_band * 2 / 4), round(w.k_per_band * 2 / 4),
                                 round(w.trunk_k / 4))
    # sqrt and linear: Net_T's trunk, 2-band branches x sqrt(2/9) or x 2/9
    for rule, share in (("sqrt", (2 / 9) ** 0.5), ("linear", 2 / 9)):
        config = make_config("ugrizyjhk", modality_size=2, n_bins=10, branch_width=rule)
        assert _filters(config) == (round(96 * share), round(156 * share), 156)
        baseline = make_config("ugrizyjhk", modality_size=None, n_bins=10, branch_width=rule)
        assert _filters(baseline) == (96, 156, 156)  # the baseline is Net_T
    assert trunk_scale(0.5, "sqrt") == 0.5 and set(BRANCH_WIDTHS) >= {"table_c1", "sqrt", "linear"}
    with pytest.raises(ValueError, match="unknown branch_width 'cubic'"):
        make_config("ugriz", branch_width="cubic")


def test_table_c1_paper_ordering():
    """As in the paper, the 1-band and extremely early networks are about half the baseline."""
    count = lambda **kw: count_params(make_config("ugrizyjhk", n_bins=1000, **kw))
    baseline = count(modality_size=None)
    assert count(modality_size=1) < 0.5 * baseline
    assert count(modality_size=2, fusion="extremely_early") < 0.51 * baseline
    assert count(modality_size=3) < baseline < count(modality_size=4)


# Table C.1 of the paper, its 14 rows: count in 1e6 and make_config arguments (ugrizyjhk,
# 64x64, 1000 bins).
TABLE_C1 = {
    "baseline": (19.03, dict(modality_size=None)),
    "2band-extremely_early": (9.52, dict(modality_size=2, fusion="extremely_early")),
    "2band-very_early": (11.16, dict(modality_size=2, fusion="very_early")),
    "2band-early": (12.51, dict(modality_size=2, fusion="early")),
    "2band-middle": (15.22, dict(modality_size=2, fusion="middle")),
    "2band-late": (17.94, dict(modality_size=2, fusion="late")),
    "early-1band": (8.80, dict(modality_size=1)),
    "early-2bands": (12.51, dict(modality_size=2)),
    "early-3bands": (17.23, dict(modality_size=3)),
    "early-4bands": (22.11, dict(modality_size=4)),
    "early-5bands": (26.29, dict(modality_size=5)),
    "early-2bands-orders12": (17.37, dict(modality_size=2, orders=(1, 2))),
    "early-2bands-orders123": (21.54, dict(modality_size=2, orders=(1, 2, 3))),
    "early-2bands-orders23": (15.98, dict(modality_size=2, orders=(2, 3))),
}


@pytest.mark.parametrize("row", sorted(TABLE_C1))
def test_default_network_reproduces_table_c1(row):
    paper, kwargs = TABLE_C1[row]
    ours = count_params(make_config("ugrizyjhk", n_bins=1000, **kwargs)) / 1e6
    assert abs(ours / paper - 1) < 0.01, (row, ours, paper)


def test_cross_fusion_blocks_follow_the_width_rule():
    config = make_config("ugrizy", modality_size=2, fusion="early", fusion_type="cross",
                         width=0.25, n_bins=10)
    params = jax.eval_shape(lambda k: init_params(config, k, 16), jax.random.key(0))
    leaves = jax.tree_util.tree_leaves_with_path(params["fusion"])
    fusion_k = {leaf.shape[-1] for path, leaf in leaves
                if "b5_conv5x5" in jax.tree_util.keystr(path) and leaf.ndim > 2}
    assert fusion_k == {round(0.25 * TABLE_C1_WIDTHS.k_per_band * 2)}  # a 2-band branch's k
    assert shapes(config, 16)["pdf"] == (2, 10)


def test_bfloat16_compute_keeps_float32_parameters_and_outputs():
    config = make_config("ugriz", modality_size=2, width=0.1, n_bins=10, dtype="bfloat16")
    params = jax.eval_shape(lambda k: init_params(config, k, 16), jax.random.key(0))
    assert {leaf.dtype for leaf in jax.tree.leaves(params)} == {jnp.dtype("float32")}
    out = jax.eval_shape(lambda p, x, e: PhotoZNet(config).apply({"params": p}, x, e), params,
                         jnp.zeros((2, 16, 16, 5)), jnp.zeros(2))
    assert out["pdf"].dtype == jnp.float32 and out["z_regression"].dtype == jnp.float32


def test_pointwise_convs_equal_separate_convolutions():
    """The inception block's four 1x1 convolutions run as one product: same numbers as
    four nn.Conv layers with the same kernels, and the block keeps nn.Conv's parameters."""
    x = jax.random.normal(jax.random.key(0), (2, 6, 6, 5))
    keys = jax.random.split(jax.random.key(1), 3)
    convs = [(jax.random.normal(k, (1, 1, 5, f)), jnp.arange(f, dtype=jnp.float32))
             for k, f in zip(keys, (3, 3, 4))]
    fused = pointwise_convs(x, convs, jnp.float32)
    for (kernel, bias), out in zip(convs, fused):
        separate = nn.Conv(kernel.shape[-1], (1, 1)).apply(
            {"params": {"kernel": kernel, "bias": bias}}, x)
        np.testing.assert_allclose(out, separate, rtol=1e-5, atol=1e-5)
    params = jax.eval_shape(InceptionBlock(scale=0.1).init, jax.random.key(0), x)["params"]
    assert params["b5_reduce"]["kernel"].shape == (1, 1, 5, 10)  # int(0.65 * 16)
    assert params["b1_conv1x1"]["bias"].shape == (11,)  # int(0.7 * 16)
