"""Machine-to-machine endpoints: the township witness's add-checkpoint."""
