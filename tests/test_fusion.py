"""Fusions (Sect. 4.3): cross fusion after Hong et al. 2020 against concatenation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from multimodal_photoz.model import BACKBONES, PhotoZNet, count_params, init_params, make_config
from multimodal_photoz.model.fusion import CrossFusion
from multimodal_photoz.model.initializers import init_from_shapes


def fused_and_pdf_shapes(config, stamp=16, batch=2):
    """Shapes of the fused map and the PDF, by shape inference only."""
    model = PhotoZNet(config)
    images = jax.ShapeDtypeStruct((batch, stamp, stamp, config.n_bands), jnp.float32)
    ebv = jax.ShapeDtypeStruct((batch,), jnp.float32)

    def run(key, images, ebv):
        variables = model.init(key, images, ebv)
        out, state = model.apply(variables, images, ebv, mutable=["intermediates"])
        return out["pdf"], state["intermediates"]["fused"][0]

    pdf, fused = jax.eval_shape(run, jax.random.key(0), images, ebv)
    return fused.shape, pdf.shape


@pytest.mark.parametrize("backbone", ["inception", "cnn5"])
def test_cross_fusion_gives_the_concatenation_shapes_at_every_stage(backbone):
    for stage, depth in BACKBONES[backbone].fusion_depth.items():
        if depth == 0:
            continue  # no branch block to cross-apply: refused below
        shapes = {}
        for fusion_type in ("concat", "cross"):
            config = make_config("ugri", modality_size=2, fusion=stage, fusion_type=fusion_type,
                                 backbone=backbone, width=0.1, n_bins=12)
            shapes[fusion_type] = fused_and_pdf_shapes(config)
        assert shapes["cross"] == shapes["concat"], stage
        assert shapes["cross"][1] == (2, 12)


def test_cross_fusion_refuses_depth_zero_and_mixed_sizes():
    config = make_config("ugri", modality_size=2, fusion="extremely_early", fusion_type="cross",
                         width=0.1, n_bins=12)
    with pytest.raises(ValueError, match="at fusion depth 0"):
        fused_and_pdf_shapes(config)
    config = make_config("ugri", modality_spec="u_g,g_r_i", fusion_type="cross", width=0.1,
                         n_bins=12)
    with pytest.raises(ValueError, match="modalities of one size"):
        fused_and_pdf_shapes(config)


def test_cross_fusion_adds_only_the_common_convolution_whatever_the_number_of_modalities():
    """The cross-applied blocks are the branches' own last blocks, moved into the
    fusion; what cross fusion adds is one common 1x1 convolution, the same for any M."""
    added = []
    for spec in ("u_g,g_r", "u_g,g_r,r_i", "u_g,g_r,r_i,i_z,z_y"):
        counts, params = {}, {}
        for fusion_type in ("concat", "cross"):
            config = make_config("ugrizy", modality_spec=spec, fusion_type=fusion_type,
                                 width=0.25, n_bins=10)
            counts[fusion_type] = count_params(config, stamp=16)
            params[fusion_type] = jax.eval_shape(lambda k: init_params(config, k, 16),
                                                 jax.random.key(0))
        n_mod = spec.count(",") + 1
        crossed = params["cross"]["fusion"]["cross_blocks"]["block2"]
        assert jax.tree.map(lambda x: x.shape, crossed) == jax.tree.map(
            lambda x: x.shape, params["concat"]["branches_size2"]["block2"])
        assert "block2" not in params["cross"]["branches_size2"]
        assert crossed["b1_conv1x1"]["kernel"].shape[0] == n_mod
        common = params["cross"]["fusion"]["common_conv1x1"]["kernel"].shape
        assert common[:2] == (1, 1) and common[2] == common[3]
        assert counts["cross"] - counts["concat"] == common[2] ** 2 + common[2]
        added.append(counts["cross"] - counts["concat"])
    assert len(set(added)) == 1


def _cross_module(n_mod=3, depth=2, conv_impl="matmul"):
    """A cross fusion over ``n_mod`` random feature maps (2, 8, 8, 12) and its parameters."""
    module = CrossFusion(backbone="inception", depth=depth, modality_scales=(0.1,) * n_mod,
                         conv_impl=conv_impl)
    keys = jax.random.split(jax.random.key(1), n_mod)
    features = [jax.random.normal(k, (2, 8, 8, 12)) for k in keys]
    keep = jnp.ones(n_mod)
    shapes = jax.eval_shape(module.init, jax.random.key(0), features, keep)["params"]
    params = init_from_shapes(shapes, jax.random.key(0))
    return module, params, features, keep


def test_fused_map_is_invariant_to_modality_order_and_follows_block_order():
    """Block k's map averages block k over all modalities: reordering the modalities'
    features leaves it unchanged; reordering the blocks reorders the channel groups."""
    module, params, features, keep = _cross_module()
    apply = jax.jit(lambda p, f, k: module.apply({"params": p}, f, k)[0])
    fused = apply(params, features, keep)
    perm = [2, 0, 1]
    np.testing.assert_allclose(apply(params, [features[i] for i in perm], keep), fused,
                               rtol=1e-5, atol=1e-6)
    permuted_blocks = dict(params, cross_blocks=jax.tree.map(lambda x: x[np.array(perm)],
                                                             params["cross_blocks"]))
    groups = fused.reshape(*fused.shape[:-1], 3, -1)
    np.testing.assert_allclose(
        apply(permuted_blocks, features, keep).reshape(groups.shape), groups[..., perm, :],
        rtol=1e-5, atol=1e-6)


def test_grouped_and_matmul_cross_blocks_agree():
    module, params, features, keep = _cross_module(depth=1)  # block 1, after the first pool
    grouped = CrossFusion(backbone="inception", depth=1, modality_scales=(0.1,) * 3,
                          conv_impl="lax")
    np.testing.assert_allclose(grouped.apply({"params": params}, features, keep)[0],
                               module.apply({"params": params}, features, keep)[0],
                               rtol=1e-4, atol=1e-5)


def test_a_dropped_modality_acts_only_through_its_features_in_the_fusion():
    module, params, features, _ = _cross_module()
    apply = jax.jit(lambda f, k: module.apply({"params": params}, f, k)[0])
    keep = jnp.array([1.0, 0.0, 1.0])
    dropped = apply(features, keep)
    np.testing.assert_allclose(module.apply({"params": params}, features, keep)[0], dropped,
                               rtol=1e-5, atol=1e-6)  # jit changes nothing
    noise = [features[0], 10 * jax.random.normal(jax.random.key(5), features[1].shape),
             features[2]]
    np.testing.assert_allclose(apply(noise, keep), dropped, rtol=0, atol=1e-6)
    assert not np.allclose(apply(features, jnp.ones(3)), dropped)


@pytest.fixture(scope="module")
def network():
    """An early cross fusion of u_g, g_r, r_i: width 0.1, 16x16, and its parameters."""
    config = make_config("ugri", modality_size=2, fusion="early", fusion_type="cross",
                         width=0.1, n_bins=8, modality_dropout=2)
    return config, init_params(config, jax.random.key(0), 16)


def test_jitted_network_with_drop_modalities_at_evaluation(network):
    config, params = network
    model = PhotoZNet(config)
    images = jax.random.normal(jax.random.key(2), (2, 16, 16, 4))
    ebv = jnp.zeros(2)

    logits = jax.jit(lambda x: model.apply({"params": params}, x, ebv)["logits"])
    dropped = jax.jit(lambda x: model.apply({"params": params}, x, ebv,
                                            drop_modalities=("u_g",))["logits"])
    other_u = images.at[..., 0].set(5.0)  # u enters through u_g only
    assert not np.allclose(logits(other_u), logits(images))
    np.testing.assert_allclose(dropped(other_u), dropped(images), rtol=0, atol=1e-6)
    assert not np.allclose(dropped(images), logits(images))


def test_gradients_reach_every_branch_and_block_under_modality_dropout(network):
    """A dropped modality's branch gets no gradient; every cross block still does
    (it keeps processing the other modalities); over a few draws every branch trains."""
    config, params = network
    model = PhotoZNet(config)
    images = jax.random.normal(jax.random.key(3), (4, 16, 16, 4))
    ebv = jnp.zeros(4)

    @jax.jit
    def grads(params, key):
        def loss(params):
            out = model.apply({"params": params}, images, ebv, train=True,
                              rngs={"modality_dropout": key})
            return jnp.mean(out["logits"] ** 2) + jnp.mean(out["z_regression"] ** 2)
        return jax.value_and_grad(loss)(params)

    def per_modality_norms(tree):  # (leaves, 3)
        return np.stack([np.linalg.norm(np.asarray(leaf).reshape(3, -1), axis=1)
                         for leaf in jax.tree.leaves(tree)])

    trained = np.zeros(3, bool)
    for seed in range(4):
        value, g = grads(params, jax.random.key(seed))
        assert np.isfinite(value)
        assert (per_modality_norms(g["fusion"]["cross_blocks"]) > 0).all()
        assert float(jnp.abs(g["fusion"]["common_conv1x1"]["kernel"]).max()) > 0
        branches = per_modality_norms(g["branches_size2"]) > 0
        kept = branches.all(axis=0)
        assert (kept | ~branches.any(axis=0)).all()  # a branch trains wholly or not at all
        assert kept.any()
        trained |= kept
    assert trained.all()


def test_cross_fusion_with_split_convolutions_equals_matmul():
    """Cross fusion applies every block to every modality (an unbatched input under vmap):
    the split convolution gives the numbers of the batched-matmul form."""
    out = {}
    for impl in ("split", "matmul"):
        module, params, features, keep = _cross_module(conv_impl=impl)
        out[impl] = jax.jit(lambda p, f, k, m=module: m.apply({"params": p}, f, k)[0])(
            params, features, keep)
    np.testing.assert_allclose(out["split"], out["matmul"], rtol=1e-4, atol=1e-5)
