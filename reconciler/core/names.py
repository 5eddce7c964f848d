"""'did you mean ...?' suggestions for misspelt names."""

from __future__ import annotations

import difflib
from collections.abc import Collection

# difflib compares against every candidate; in a 100,000-device inventory that costs seconds
# per typo, so large candidate sets get no suggestion.
MAX_CANDIDATES = 2000


def did_you_mean(name: str, candidates: Collection[str]) -> str:
    """` (did you mean X?)` or an empty string."""
    if not candidates or len(candidates) > MAX_CANDIDATES:
        return ""
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean {close[0]}?)" if close else ""
