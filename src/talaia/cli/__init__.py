"""The ``talaia`` command line (Typer + Rich)."""
