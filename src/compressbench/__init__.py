"""compressbench: what distillation, pruning and quantization do to accuracy, size and speed."""
import os

# The one place this is set: tfmot only accepts Keras 2 (tf_keras) models, and
# TensorFlow picks its Keras on first import, so it must precede any TF import.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
