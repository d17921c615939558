"""Training toolkit: datasets, Keras models, int8 export, evaluation and the model card.

Run as ``python -m tools.train fit|evaluate ...`` (see ``tools/train/__main__.py`` and
``docs/models.md``). TensorFlow (the ``[train]`` extra) is imported only by ``model``,
``export`` and the ``fit`` command; ``dataset``, ``evaluate`` and ``card`` work without it.
"""
