"""Run bookkeeping: the config schema, recipes, run directories, tracking and model directories."""
