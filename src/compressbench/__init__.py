"""compressbench: what distillation, pruning and quantization do to accuracy, size and speed."""
import os
import sys

# The one place the TensorFlow environment is set; TensorFlow reads it on first
# import, so every module imports this package first.
# - tfmot only accepts Keras 2 (tf_keras) models.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
# - TensorFlow enables oneDNN only on CPUs with AVX-512-class features; on
#   AVX2-only CPUs it trains 1.5-1.8x faster with it (reports/step-times.md).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# - Keras 3, a TensorFlow dependency, is never used. tfmot's prune registry tries
#   `from keras.src.engine import base_layer`, which loads all of Keras 3 (1-2 s of
#   every process that imports tfmot) only to fail and fall back. Without the module
#   the import fails at once and tfmot takes the same fallback.
sys.modules.setdefault("keras", None)

__version__ = "0.1.0"
