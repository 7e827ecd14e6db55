"""The terminal face: one module per command group, imported only when that group runs."""
