"""A tiny separation model for the tests and the benchmark, built with the ``onnx`` package.

It has htdemucs's contract as demucs-onnx exports it (input ``mix`` (1, 2, segment) float32,
output ``stems`` (1, sources, 2, segment)) and is loaded by the very code a user's htdemucs.onnx
goes through (``audio.separate.load_model``). What it computes is known: source ``i`` is the mix
times ``gains[i]``, with ``delay`` samples of delay on every source but the first (so that the
stems do not sum back to the mix the way real separations do not), so a test can derive each
stem, and the residual, from how the mix was made.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

GAINS_4 = (0.5, 0.25, 0.125, 0.0625)


def RAMP(segment: int) -> np.ndarray:
    """The gain at each position of a segment of a ``ramp`` model: 1 up to 2."""
    return (1 + np.arange(segment) / segment).astype(np.float32)  # drums, bass, other, vocals: sum 0.9375 -> residual 1/16 of the mix


def write_model(folder: Path, name: str = "htdemucs", *, gains: tuple[float, ...] = GAINS_4,
                segment: int = 22050, sources: tuple[str, ...] | None = None, work: int = 0,
                ramp: bool = False) -> Path:
    """Write ``folder/NAME.onnx``; ``work`` > 0 adds that many 1-D convolutions of 64 taps per
    source row whose result is multiplied by 0 (compute the model must do, output unchanged):
    the benchmark's stand-in for a model's cost. ``ramp`` multiplies every source by ``RAMP``
    of the position in the segment (1 at its start up to 2 at its end): a model whose output
    depends on where the segment falls, as a real one does (what shifts average out)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    n = len(gains)
    g = numpy_helper.from_array(np.asarray(gains, np.float32).reshape(1, n, 1, 1), "gains")
    axes = numpy_helper.from_array(np.asarray([1], np.int64), "axes")
    nodes = [helper.make_node("Unsqueeze", ["mix", "axes"], ["mix4"]),
             helper.make_node("Mul", ["mix4", "gains"], ["scaled"])]
    inits = [g, axes]
    out = "scaled"
    if ramp:
        inits.append(numpy_helper.from_array(RAMP(segment).reshape(1, 1, 1, segment), "ramp"))
        nodes[-1] = helper.make_node("Mul", ["mix4", "gains"], ["flat"])
        nodes.append(helper.make_node("Mul", ["flat", "ramp"], ["scaled"]))
    if work:
        w = numpy_helper.from_array(np.full((2, 2, 64), 1e-3, np.float32), "w")
        zero = numpy_helper.from_array(np.zeros((1, 1, 1, 1), np.float32), "zero")
        inits += [w, zero]
        prev = "mix"
        for i in range(work):
            nodes.append(helper.make_node("Conv", [prev, "w"], [f"c{i}"], pads=[32, 31]))
            prev = f"c{i}"
        nodes += [helper.make_node("Unsqueeze", [prev, "axes"], ["conv_out"]),
                  helper.make_node("Mul", ["conv_out", "zero"], ["czero"]),
                  helper.make_node("Add", ["scaled", "czero"], ["stems"])]
        out = "stems"
    else:
        nodes.append(helper.make_node("Identity", ["scaled"], ["stems"]))
        out = "stems"
    graph = helper.make_graph(
        nodes, "tiny_separator",
        [helper.make_tensor_value_info("mix", TensorProto.FLOAT, [1, 2, segment])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, n, 2, segment])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="stemvault-tests")
    model.ir_version = 8
    if sources is not None:
        helper.set_model_props(model, {"sources": ",".join(sources)})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.onnx"
    onnx.save(model, str(path))
    return path
