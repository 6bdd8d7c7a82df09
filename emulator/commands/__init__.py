"""The commands of ``fattura-sandbox`` besides ``serve``: one module each, imported only when run."""
