"""Keras models and training: a small CNN (the demo model) and MobileNet transfer learning.

TensorFlow is imported only by this module and ``export``; both are in the ``[train]`` extra.
Every model takes float pixels in 0..1 (N x H x W x 3); the int8 export then maps pixel values
0..255 onto int8 with scale 1/255 and zero point -128, which is what the service feeds it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf  # pyright: ignore[reportMissingImports]

keras = tf.keras
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    """How to train: architecture, input size, epochs and the rest."""

    arch: str = "small-cnn"
    size: int = 96
    epochs: int = 12
    batch_size: int = 32
    learning_rate: float = 2e-3
    weights: str = "none"  # "none" or "imagenet" (MobileNets only; downloads once)
    fine_tune_epochs: int = 5  # imagenet only: epochs with the base unfrozen, lr / 10
    infrared_fraction: float = 0.25  # share of training images turned greyscale (IR nights)
    seed: int = 0
    threads: int = 2


def configure(settings: TrainSettings) -> None:
    """Deterministic seeds and a bounded thread count (never oversubscribe a shared CPU)."""
    keras.utils.set_random_seed(settings.seed)
    threading = tf.config.threading
    if threading.get_intra_op_parallelism_threads() == settings.threads:
        return
    try:
        threading.set_intra_op_parallelism_threads(settings.threads)
        threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already ran in this process: its pools are fixed now
        log.warning(
            "TensorFlow is already initialised in this process; keeping its thread pools "
            "(wanted %d threads)",
            settings.threads,
        )


def conv_block(x: tf.Tensor, filters: int, stride: int = 1, pool: bool = False) -> tf.Tensor:
    x = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization(momentum=0.9)(x)  # few steps per epoch
    x = keras.layers.ReLU()(x)
    return keras.layers.MaxPooling2D()(x) if pool else x


def small_cnn(size: int, n_classes: int) -> keras.Model:
    """A five-convolution network, ~0.2 M parameters (~0.2 MB as int8), for 96-128 px input."""
    inputs = keras.Input((size, size, 3), name="image")
    x = conv_block(inputs, 16, stride=2)
    x = conv_block(x, 32, pool=True)
    x = conv_block(x, 64, pool=True)
    x = conv_block(x, 96, pool=True)
    x = conv_block(x, 128)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="camtrap_small_cnn")


def mobilenet(arch: str, size: int, n_classes: int, weights: str) -> keras.Model:
    """MobileNetV2 (alpha 0.35) or MobileNetV3-small with a new head.

    With ImageNet weights the base starts frozen (BatchNorm in inference mode) so the new head
    learns first; ``fit`` then fine-tunes it for ``fine_tune_epochs``. Without weights
    (offline) the whole network trains from scratch.
    """
    w = "imagenet" if weights == "imagenet" else None
    shape = (size, size, 3)
    if arch == "mobilenetv2":
        base = keras.applications.MobileNetV2(
            input_shape=shape, alpha=0.35, include_top=False, weights=w
        )
    else:
        base = keras.applications.MobileNetV3Small(
            input_shape=shape, include_top=False, weights=w, include_preprocessing=False
        )
    inputs = keras.Input(shape, name="image")
    x = keras.layers.Rescaling(2.0, offset=-1.0)(inputs)  # MobileNets expect -1..1
    if w is not None:
        base.trainable = False
    x = base(x, training=False) if w is not None else base(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name=f"camtrap_{arch}")


def build(settings: TrainSettings, n_classes: int) -> keras.Model:
    if settings.arch == "small-cnn":
        model = small_cnn(settings.size, n_classes)
    else:
        model = mobilenet(settings.arch, settings.size, n_classes, settings.weights)
    model.compile(
        optimizer=keras.optimizers.Adam(settings.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def augment(infrared_fraction: float, seed: int) -> Callable[[tf.Tensor, tf.Tensor], tuple]:
    """Batch augmentation: flips, shift/zoom, brightness/contrast, infrared greyscale."""
    gen = tf.random.Generator.from_seed(seed)

    def fn(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        x = tf.cast(images, tf.float32) / 255.0
        n = tf.shape(x)[0]
        size = tf.shape(x)[1:3]
        x = tf.where(gen.uniform([n, 1, 1, 1]) < 0.5, tf.reverse(x, axis=[2]), x)
        scale = gen.uniform([n, 1], 0.8, 1.0)
        y0 = gen.uniform([n, 1]) * (1.0 - scale)
        x0 = gen.uniform([n, 1]) * (1.0 - scale)
        boxes = tf.concat([y0, x0, y0 + scale, x0 + scale], axis=1)
        x = tf.image.crop_and_resize(x, boxes, tf.range(n), size)
        x = x * gen.uniform([n, 1, 1, 1], 0.75, 1.25) + gen.uniform([n, 1, 1, 1], -0.1, 0.1)
        mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
        x = (x - mean) * gen.uniform([n, 1, 1, 1], 0.8, 1.2) + mean
        grey = tf.image.grayscale_to_rgb(tf.image.rgb_to_grayscale(x))
        x = tf.where(gen.uniform([n, 1, 1, 1]) < infrared_fraction, grey, x)
        return tf.clip_by_value(x, 0.0, 1.0), labels

    return fn


def as_float(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 255.0


def fit(
    model: keras.Model,
    settings: TrainSettings,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray] | None,
    verbose: int = 2,
) -> dict[str, list[float]]:
    """Train with augmentation and class weights; keep the weights of the best val epoch."""
    x, y = train
    ds = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=settings.seed, reshuffle_each_iteration=True)
        .batch(settings.batch_size)
        .map(augment(settings.infrared_fraction, settings.seed))
        .prefetch(2)
    )
    val_data = None
    callbacks: list = []
    if val is not None and len(val[0]):
        val_data = (as_float(val[0]), val[1])
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=5, restore_best_weights=True, start_from_epoch=3
            )
        )
    weights = class_weights(y, model.output_shape[-1])

    def run(epochs: int) -> dict[str, list[float]]:
        history = model.fit(
            ds,
            epochs=epochs,
            validation_data=val_data,
            class_weight=weights,
            callbacks=callbacks,
            shuffle=False,  # the dataset shuffles itself
            verbose=verbose,  # type: ignore[arg-type]
        )
        return {k: [float(v) for v in vs] for k, vs in history.history.items()}

    log = run(settings.epochs)
    frozen = [
        layer for layer in model.layers if isinstance(layer, keras.Model) and not layer.trainable
    ]
    if frozen and settings.fine_tune_epochs > 0:
        for layer in frozen:
            layer.trainable = True
        model.compile(
            optimizer=keras.optimizers.Adam(settings.learning_rate / 10),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        for k, vs in run(settings.fine_tune_epochs).items():
            log.setdefault(k, []).extend(vs)
    return log


def class_weights(y: np.ndarray, n_classes: int) -> dict[int, float]:
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    weights = len(y) / (n_classes * np.maximum(counts, 1))
    return {i: float(w) for i, w in enumerate(weights)}


def predict(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Float class probabilities for uint8 images."""
    if not len(images):
        return np.zeros((0, model.output_shape[-1]), np.float32)
    return np.asarray(model.predict(as_float(images), batch_size=64, verbose=0))  # type: ignore[arg-type]
