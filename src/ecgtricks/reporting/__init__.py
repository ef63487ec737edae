"""The ablation report: collecting runs, statistics, tables and pages."""
