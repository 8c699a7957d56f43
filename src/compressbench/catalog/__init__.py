"""The catalog: one declaration per extensible thing (datasets, architectures,
methods), in registries every other module reads."""
