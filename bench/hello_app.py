"""The ceiling: a bare Flask "hello" app on the same waitress set-up as `fattura-sandbox serve`.

python -m bench.hello_app PORT [THREADS]
"""

from __future__ import annotations

import sys

import waitress
from flask import Flask

app = Flask(__name__)


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    port = int(sys.argv[1])
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    waitress.serve(app, host="127.0.0.1", port=port, threads=threads, ident="hello")
