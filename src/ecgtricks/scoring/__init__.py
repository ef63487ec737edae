"""Scoring of an edition of the challenge: class tables, metrics, output files, thresholds and ensembles."""
