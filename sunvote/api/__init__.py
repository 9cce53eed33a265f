"""Machine-to-machine endpoints: the township witness's add-checkpoint and the JSON API of
matters."""
