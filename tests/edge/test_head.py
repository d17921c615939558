"""The numpy head of `camtrap adapt`: training, inference, the .npz round trip."""

from __future__ import annotations

import numpy as np
import pytest

from camtrap.core.head import (
    Head,
    HeadError,
    class_weights,
    head_from_arrays,
    loss,
    train_head,
    unit,
)


def blobs(n0: int, n1: int, d: int = 16, gap: float = 2.0, seed: int = 0):
    """Non-negative embeddings (like ReLU features) whose classes differ in direction."""
    rng = np.random.default_rng(seed)
    half = np.repeat([gap, 0.0], d // 2)
    x = np.vstack([rng.normal(half, 1, (n0, d)), rng.normal(half[::-1], 1, (n1, d))])
    return np.abs(x), np.repeat([0, 1], [n0, n1])


def test_class_weights_give_every_class_the_same_total():
    w = class_weights(np.array([0, 0, 0, 1]), 2)
    assert w[:3].sum() == pytest.approx(w[3:].sum())
    assert w.mean() == pytest.approx(1.0)


def test_head_separates_held_out_points_of_two_classes():
    x, y = blobs(60, 60)
    head = train_head(x[::2], y[::2], ("other", "leopard"))
    predicted = np.array([np.argmax(head.probabilities(e)) for e in x[1::2]])
    assert np.mean(predicted == y[1::2]) >= 0.95


def test_balancing_keeps_a_rare_class_found():
    x, y = blobs(300, 12, gap=1.5, seed=3)
    head = train_head(x, y, ("empty", "leopard"))
    found = [head.probabilities(e)[1] >= 0.5 for e in x[y == 1]]
    assert np.mean(found) >= 0.9


def test_training_converges_to_a_lower_loss_than_a_few_steps_give():
    x, y = blobs(40, 40, gap=1.0, seed=5)
    fits = (train_head(x, y, ("a", "b"), iterations=n) for n in (3, 400, 1600))
    few, full, more = (loss(h, x, y) for h in fits)
    assert few > full and abs(full - more) < 0.05 * full


def test_probabilities_are_a_distribution_in_label_order():
    x, y = blobs(10, 10)
    p = train_head(x, y, ("a", "b")).probabilities(x[0])
    assert p.dtype == np.float32 and p.shape == (2,) and p.sum() == pytest.approx(1.0, abs=1e-5)


def test_unit_scales_rows_and_leaves_zero_rows():
    u = unit(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert u.tolist() == [[0.6, 0.8], [0.0, 0.0]]


def test_arrays_round_trip_through_npz(tmp_path):
    x, y = blobs(10, 10)
    head = train_head(x, y, ("empty", "leopard, Panthera pardus"))
    np.savez(tmp_path / "head.npz", **head.to_arrays())  # pyright: ignore[reportArgumentType]
    with np.load(tmp_path / "head.npz", allow_pickle=False) as f:
        back = head_from_arrays(dict(f), "head.npz")
    assert back.labels == head.labels
    np.testing.assert_allclose(back.probabilities(x[3]), head.probabilities(x[3]), rtol=1e-6)


def test_a_head_file_missing_a_key_names_it():
    x, y = blobs(10, 10)
    arrays = train_head(x, y, ("a", "b")).to_arrays()
    del arrays["bias"]
    with pytest.raises(HeadError, match=r"head.npz: bias: missing"):
        head_from_arrays(arrays, "head.npz")


def test_an_embedding_of_the_wrong_size_is_refused():
    x, y = blobs(10, 10)
    with pytest.raises(HeadError, match="8 values, the head takes 16"):
        train_head(x, y, ("a", "b")).probabilities(np.zeros(8))


def test_one_class_cannot_be_trained():
    with pytest.raises(HeadError, match="at least 2"):
        train_head(np.ones((4, 3)), np.zeros(4, int), ("a", "b"))


def test_weights_must_fit_the_labels():
    with pytest.raises(HeadError, match="do not fit 3 labels"):
        Head(("a", "b", "c"), np.zeros(2), np.ones(2), np.zeros((2, 2)), np.zeros(2))
