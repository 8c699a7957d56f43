"""Hinton knowledge distillation, from precomputed teacher logits or an online teacher.

Without augmentation a teacher's logits on the training set do not change while
a student learns, so they are computed once (by the teacher's own training job)
and packed next to the labels: y = [label, t_1 .. t_10]; the student then
trains with plain `fit` and no teacher forward pass at all. With augmentation
every batch is new images, so the teacher runs online on the same augmented
batch (OnlineTeacher) and packs its logits the same way."""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

from . import training


def kd_loss(labels, student_logits, teacher_logits, alpha: float, temperature: float, t_squared: bool = True):
    """alpha*CE(y, s) + (1-alpha)*T^2*KL(softmax(t/T) || softmax(s/T)), per example.

    T^2 keeps the soft-target gradients on the scale of the hard-label ones
    (Hinton et al.); `t_squared=False` is the study's loss as it ran (the Keras
    example's Distiller), whose soft term shrinks as 1/T^2."""
    ce = keras.losses.sparse_categorical_crossentropy(labels, student_logits, from_logits=True)
    log_p_t = tf.nn.log_softmax(teacher_logits / temperature, axis=-1)
    log_p_s = tf.nn.log_softmax(student_logits / temperature, axis=-1)
    kl = tf.reduce_sum(tf.exp(log_p_t) * (log_p_t - log_p_s), axis=-1)
    return alpha * ce + (1.0 - alpha) * (temperature ** 2 if t_squared else 1.0) * kl


class KDLoss(keras.losses.Loss):
    def __init__(self, alpha: float, temperature: float, t_squared: bool = True, name="kd_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.alpha, self.temperature, self.t_squared = alpha, temperature, t_squared

    def call(self, y_true, y_pred):
        labels = tf.cast(y_true[:, 0], tf.int32)
        return kd_loss(labels, y_pred, y_true[:, 1:], self.alpha, self.temperature, self.t_squared)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "temperature": self.temperature,
                "t_squared": self.t_squared}


def label_accuracy(y_true, y_pred):
    """Accuracy against the label column of the packed targets."""
    return tf.cast(tf.equal(tf.cast(y_true[:, 0], tf.int64), tf.argmax(y_pred, axis=-1)), tf.float32)


def pack(labels: np.ndarray, teacher_logits: np.ndarray) -> np.ndarray:
    if len(labels) != len(teacher_logits):
        raise ValueError(f"{len(labels)} labels but {len(teacher_logits)} teacher logits: "
                         "the teacher was run on a different split")
    return np.concatenate([labels[:, None].astype(np.float32), teacher_logits.astype(np.float32)], axis=1)


def kd_keywords(protocol: dict) -> dict:
    """train_distilled's loss keywords from a distilled base model's protocol."""
    return {k: protocol[k] for k in ("alpha", "temperature", "t_squared")}


def train_distilled(model, data: dict, teacher: dict, *, alpha: float, temperature: float,
                    t_squared: bool = True, **protocol):
    """Distil into `model` from teacher logits {'train': ..., 'val': ...} under
    training.fit_model's protocol keywords; return the history. The logits belong to
    the unaugmented images: with augmentation use train_distilled_online."""
    if protocol.get("augment"):
        raise ValueError("precomputed teacher logits with augmentation: the logits would belong to "
                         "other images than the student sees (use the online teacher)")
    history = training.fit_model(model, data, pack(data["y_train"], teacher["train"]),
                                 pack(data["y_val"], teacher["val"]), loss=KDLoss(alpha, temperature, t_squared),
                                 metrics=[label_accuracy], **protocol)
    return _renamed(history)


def _renamed(history):
    # Same column names as a supervised history, so the curves plot alike.
    return history.rename(columns=lambda c: c.replace("label_accuracy", "accuracy"))


class OnlineTeacher(keras.Model):
    """The student, trained on targets packed with its teacher's logits on the very
    (augmented) batch it sees: y -> [label, teacher logits]. Only the student's weights
    train; the teacher runs in inference mode (no dropout, BatchNorm frozen)."""

    def __init__(self, student, teacher, **kwargs):
        super().__init__(**kwargs)
        self.student, self.teacher = student, teacher
        self.teacher.trainable = False

    def call(self, x, training=False):
        return self.student(x, training=training)

    def _packed(self, data):
        x, y = data
        t = tf.cast(self.teacher(x, training=False), tf.float32)
        return x, tf.concat([tf.cast(tf.reshape(y, (-1, 1)), tf.float32), t], axis=1)

    def train_step(self, data):
        return super().train_step(self._packed(data))

    def test_step(self, data):
        return super().test_step(self._packed(data))


def train_distilled_online(model, data: dict, teacher, *, alpha: float, temperature: float,
                           t_squared: bool = True, **protocol):
    """Distil into `model` from a teacher model run online on every (augmented) batch,
    under training.fit_model's protocol keywords; return the history."""
    wrapper = OnlineTeacher(model, teacher)
    history = training.fit_model(wrapper, data, data["y_train"], data["y_val"],
                                 loss=KDLoss(alpha, temperature, t_squared), metrics=[label_accuracy], **protocol)
    return _renamed(history)
