"""Data that ecgtricks makes: the ECG model, the twin of the challenge archives, the built-in dataset, the WFDB writer."""
