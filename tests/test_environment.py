"""The TensorFlow environment the package sets before TensorFlow loads."""
import subprocess
import sys


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_importing_the_tfmot_modules_never_loads_keras_3():
    out = _run("import sys\n"
               "from compressbench import cluster, prune, quantize\n"
               "print(sys.modules['keras'] is None, [m for m in sys.modules if m.startswith('keras.')])")
    assert out == "True []"


def test_tfmot_still_prunes_and_quantizes_tf_keras_layers_without_keras_3():
    out = _run("from compressbench import models, prune, quantize\n"
               "import tensorflow_model_optimization as tfmot\n"
               "m = models.build([{'conv': 4}, {'dense': 8}], (8, 8, 1))\n"
               "p = tfmot.sparsity.keras.prune_low_magnitude(models.clone(m, 'float32'))\n"
               "q = tfmot.quantization.keras.quantize_model(models.clone(m, 'float32'))\n"
               "print(all(type(l).__name__ == 'PruneLowMagnitude' for l in p.layers),\n"
               "      type(q.layers[0]).__name__, len(q.layers) == len(m.layers) + 1)")
    assert out.split() == ["True", "QuantizeLayer", "True"]


def test_the_package_turns_on_legacy_keras_and_onednn_before_tensorflow_loads():
    out = _run("import os, compressbench, tensorflow as tf\n"
               "print(os.environ['TF_USE_LEGACY_KERAS'], os.environ['TF_ENABLE_ONEDNN_OPTS'], tf.keras.__name__)")
    assert out.split()[:2] == ["1", "1"] and out.split()[2].startswith("tf_keras")
