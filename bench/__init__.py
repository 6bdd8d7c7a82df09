"""The benchmark suite: `python -m bench` measures the sandbox and writes bench/RESULTS.md."""
