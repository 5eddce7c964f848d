"""Local image repository (import, fetch, verify) and the synthetic example images."""
