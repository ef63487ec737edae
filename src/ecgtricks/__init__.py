"""ecgtricks."""
