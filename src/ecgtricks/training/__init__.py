"""Training: the LightningModule and what it needs."""
