"""Runs an exported ONNX model with onnxruntime (the real consumer) for Skiplane's tests.

usage: onnxruntime_run.py MODEL.onnx INPUT.f32 N C H W

INPUT.f32 holds N*C*H*W little-endian float32 values (the preprocessed batch). Prints one JSON
object: the session's inputs and outputs (name, shape with symbolic axes as strings, type), the
model's custom metadata, and the first output as nested lists.
"""

import json
import sys

import numpy as np
import onnxruntime as ort


def describe(args):
    return [{"name": a.name, "shape": [d if isinstance(d, int) else str(d) for d in a.shape], "type": a.type} for a in args]


def main():
    model, data, *shape = sys.argv[1:]
    shape = [int(d) for d in shape]
    batch = np.fromfile(data, dtype="<f4").reshape(shape)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    outputs = session.run(None, {session.get_inputs()[0].name: batch})
    print(json.dumps({
        "onnxruntime": ort.__version__,
        "inputs": describe(session.get_inputs()),
        "outputs": describe(session.get_outputs()),
        "metadata": session.get_modelmeta().custom_metadata_map,
        "output": outputs[0].tolist(),
    }))


if __name__ == "__main__":
    main()
