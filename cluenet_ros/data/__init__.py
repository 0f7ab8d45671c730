"""Reading datasets in the project's on-disk layouts (plain numpy, no torch)."""
