"""LiteRT (``ai_edge_litert``), else ``tflite_runtime``: opening a model, one way for every adapter.

The classifier adapter and the embedding extractor both open their .tflite through
`open_interpreter`, which turns a runtime failure into a `ModelError` naming the file and keeps
the runtime's start-up banner off stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from camtrap.errors import ModelError


def interpreter_class() -> Any:
    """The Interpreter class of whichever runtime is installed (LiteRT first)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter  # type: ignore[import-not-found]
        except ImportError:
            raise ModelError(
                "no TFLite runtime: pip install ai-edge-litert (or tflite-runtime with numpy<2)"
            ) from None
    return Interpreter


def open_interpreter(path: Path, data: bytes, num_threads: int) -> Any:
    """An allocated interpreter over the model bytes; a `ModelError` naming ``path`` if not."""
    interpreter_class_ = interpreter_class()
    try:
        with runtime_banner_silenced():
            interpreter = interpreter_class_(model_content=data, num_threads=num_threads)
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"{path}: not a usable TFLite model: {first}") from None
    if len(interpreter.get_input_details()) != 1 or len(interpreter.get_output_details()) != 1:
        raise ModelError(f"{path}: want one input and one output tensor")
    return interpreter


@contextlib.contextmanager
def runtime_banner_silenced() -> Iterator[None]:
    """The runtime's C++ log (``INFO: Created TensorFlow Lite XNNPACK delegate``) goes to file
    descriptor 2 while the model loads, where no environment variable turns it off; discard it,
    so an error is still one line on stderr. Failures come back as exceptions regardless."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to keep clean
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
