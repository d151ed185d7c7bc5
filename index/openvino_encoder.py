"""The same ONNX export run by OpenVINO: the indexing encoder where OpenVINO is installed (backend auto).

On this 2-core machine (AMX) it encodes the MultiHop-RAG chunks about twice as fast as sentence-transformers in
bf16 autocast: OpenVINO does the matrix products in bf16 where the CPU does them natively (vectors within 1e-4
of fp32, like torch-bf16), and it runs one inference request per CPU stream, so each core works through
whole batches of its own instead of the two sharing every small matrix product. Only `Core.read_model`
and `compile_model` are used: OpenVINO's telemetry lives in its model converter, which this does not call.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from index.onnx_encoder import OnnxEncoder


def precision(core) -> str:
    """bf16 where the CPU does bf16 natively (AMX, AVX512-BF16), else f32."""
    return "bf16" if "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES") else "f32"


class OpenVinoEncoder(OnnxEncoder):
    """OnnxEncoder's tokenization and batching; the batches run side by side, one per CPU stream."""

    def _open(self, onnx_path: Path, threads: int) -> None:
        import openvino as ov

        core = ov.Core()
        self.precision = precision(core)
        config = {"INFERENCE_PRECISION_HINT": self.precision, "PERFORMANCE_HINT": "THROUGHPUT"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        self.compiled = core.compile_model(core.read_model(str(onnx_path)), "CPU", config)
        # Its own infer requests, one per CPU stream, each started and waited for from the calling thread: no
        # AsyncInferQueue, whose Python callback and user data run on OpenVINO's threads and need the GIL (a
        # process exiting while one was pending hung in the compiled model's destructor).
        count = int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self.requests = [self.compiled.create_infer_request() for _ in range(count)]
        self.dimension = int(self.compiled.output(0).get_partial_shape()[-1].get_length())
        # One call at a time: each already keeps every CPU stream busy, and the requests are shared (two
        # AsyncInferQueues filled from two threads at once on one compiled model deadlocked about one run in eight).
        self.lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with self.lock:
            running: list[tuple[object, np.ndarray]] = []  # (request, its rows), oldest first

            def finish_oldest() -> object:
                request, rows = running.pop(0)
                request.wait()
                out[rows] = request.get_output_tensor(0).data
                return request

            idle = list(self.requests)
            for rows, feeds in self.feeds(texts, batch_size):
                request = idle.pop() if idle else finish_oldest()
                request.start_async(feeds)
                running.append((request, rows))
            while running:
                finish_oldest()
        return out
