"""The peer of `npm run bench -- score`: Python onnxruntime scoring the ONNX file Kerf scores, on the
same rows, and printing one JSON line: onnxruntime's version and rows per second.

    python score.py MODEL.onnx ROWS.arrow THREADS [CONFIG_JSON]

ROWS.arrow (written by bench/score.ts with bench/peerData.ts) holds the model's raw input columns:
numbers as float64 (NaN for missing), categories as dictionary-encoded text (null for missing). They
become the graph's inputs as a Python user hands them over: float32 and object (str) arrays of shape
[N, 1], missing categories as '' (Kerf's marker). One run warms the session up and a JSON line says
it is ready; then each line "SECONDS" on stdin is a round: the whole set is scored again and again
for at least SECONDS (and at least twice), and a JSON line gives rows scored over time taken and
the process's CPU time per row (which another program on the machine does not inflate). The
bench alternates these rounds with its own, so both sides see the same machine. CONFIG_JSON, when
given, holds session config entries set on top of onnxruntime's defaults ({"session.x": "0"}).
"""

import json
import sys
import time

import numpy as np
import onnxruntime
import pyarrow as pa


def feeds_of(session, table):
    feeds = {}
    for graph_input in session.get_inputs():
        column = table.column(graph_input.name)
        if graph_input.type == "tensor(string)":
            labels = ["" if label is None else label for label in column.to_pylist()]
            feeds[graph_input.name] = np.array(labels, dtype=object).reshape(-1, 1)
        else:
            feeds[graph_input.name] = column.to_numpy().astype(np.float32).reshape(-1, 1)
    return feeds


def measure(session, outputs, feeds, rows, seconds):
    """Rows per second of wall time, and CPU microseconds (all threads) per row."""
    runs = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    while runs < 2 or time.perf_counter() - started < seconds:
        session.run(outputs, feeds)
        runs += 1
    cpu = time.process_time() - cpu_started
    return {"rows_per_s": rows * runs / (time.perf_counter() - started), "cpu_us_per_row": cpu * 1e6 / (rows * runs)}


def main():
    model_file, rows_file, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    for key, value in json.loads(sys.argv[4] if len(sys.argv) > 4 else "{}").items():
        options.add_session_config_entry(key, value)
    session = onnxruntime.InferenceSession(model_file, options, providers=["CPUExecutionProvider"])
    table = pa.ipc.open_file(pa.OSFile(rows_file, "rb")).read_all()
    feeds = feeds_of(session, table)
    outputs = [session.get_outputs()[0].name]
    session.run(outputs, feeds)
    print(json.dumps({"version": onnxruntime.__version__, "rows": table.num_rows}), flush=True)
    for line in sys.stdin:
        print(json.dumps(measure(session, outputs, feeds, table.num_rows, float(line))), flush=True)


if __name__ == "__main__":
    main()
