"""Small shared utilities: errors, console, atomic files, package paths."""
