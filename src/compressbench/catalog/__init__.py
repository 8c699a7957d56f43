"""The catalog: one declaration per extensible thing (datasets, architectures,
compression methods), in registries every other module reads."""
