"""Sub-commands of `reconciler device`, one module each (see `reconciler.cli.device`)."""
