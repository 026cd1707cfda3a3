import jax
import jax.numpy as jnp
import numpy as np

from multimodal_photoz import preprocess


def test_compress_values():
    x = np.array([-8.0, 0.0, 3.0, 15.0])
    # sign(x) * (sqrt(|x| + 1) - 1): -(3 - 1), 0, 2 - 1, 4 - 1
    np.testing.assert_allclose(preprocess.compress(x), [-2.0, 0.0, 1.0, 3.0])
    np.testing.assert_allclose(preprocess.compress(jnp.asarray(x)), [-2.0, 0.0, 1.0, 3.0])


def test_band_moments_match_numpy_and_skip_absent_bands():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(6, 4, 4, 3)) * 5
    mask = np.ones((6, 3), bool)
    mask[:2, 2] = False
    moments = preprocess.BandMoments.zeros(3).add(images[:3], mask[:3]).merge(
        preprocess.BandMoments.zeros(3).add(images[3:], mask[3:]))
    stats = preprocess.BandStats.from_moments(moments)
    c = preprocess.compress(images)
    np.testing.assert_allclose(stats.mean[:2], c[..., :2].mean(axis=(0, 1, 2)), rtol=1e-10)
    np.testing.assert_allclose(stats.std[:2], c[..., :2].std(axis=(0, 1, 2)), rtol=1e-10)
    np.testing.assert_allclose(stats.mean[2], c[2:, ..., 2].mean(), rtol=1e-10)


def test_standardize_uses_stats_and_keeps_absent_bands_zero():
    images = jnp.full((2, 3, 3, 2), 3.0)
    stats = preprocess.BandStats(mean=(0.5, 1.0), std=(2.0, 1.0))
    mask = jnp.array([[1.0, 1.0], [1.0, 0.0]])
    out = preprocess.standardize(images, stats, mask)
    # compress(3) = 1: (1 - 0.5) / 2 = 0.25 and (1 - 1) / 1 = 0
    np.testing.assert_allclose(out[0, 0, 0], [0.25, 0.0])
    assert float(jnp.abs(out[1, ..., 1]).max()) == 0.0


def test_augment_gives_a_dihedral_transform_of_each_stamp():
    rng = np.random.default_rng(1)
    images = jnp.asarray(rng.normal(size=(16, 5, 5, 2)), jnp.float32)
    out = np.asarray(preprocess.augment(jax.random.key(3), images))
    seen = set()
    for i in range(16):
        x = np.asarray(images[i])
        candidates = [np.rot90(x, k, axes=(0, 1)) for k in range(4)]
        candidates += [c[:, ::-1] for c in candidates]
        matches = [j for j, c in enumerate(candidates) if np.array_equal(c, out[i])]
        assert matches, f"object {i} is not a rotation/flip of its input"
        seen.add(matches[0])
    assert len(seen) > 2  # not always the same transform
    again = np.asarray(preprocess.augment(jax.random.key(3), images))
    np.testing.assert_array_equal(out, again)
