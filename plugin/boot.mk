# (empty: filled in by its owner)
