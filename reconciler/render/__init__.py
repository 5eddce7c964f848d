"""Output renderers: terminal text, JSON and Markdown (pull-request comments)."""
