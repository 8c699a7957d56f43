"""The catalog: one declaration per extensible thing (datasets, architectures,
compression methods), read by everything else."""
