"""Hinton KD loss, the teacher -> TA -> student chain, and rerun determinism."""
import numpy as np
import pytest

from compressbench import distill, models, training


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_kd_loss_matches_a_hand_computation_including_t_squared():
    labels = np.array([2, 0])
    s = np.array([[1.0, -0.5, 2.0], [0.3, 0.1, -1.2]], dtype=np.float32)
    t = np.array([[0.5, 0.0, 3.0], [2.0, -1.0, 0.0]], dtype=np.float32)
    alpha, T = 0.1, 4.0
    ce = -np.log(softmax(s)[np.arange(2), labels])
    p_t, p_s = softmax(t / T), softmax(s / T)
    kl = (p_t * (np.log(p_t) - np.log(p_s))).sum(axis=-1)
    expected = alpha * ce + (1 - alpha) * T ** 2 * kl
    got = distill.kd_loss(labels, s, t, alpha, T).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_kd_loss_is_pure_cross_entropy_at_alpha_one_and_zero_when_student_copies_teacher():
    labels = np.array([1])
    s = np.array([[0.2, 1.5, -0.3]], dtype=np.float32)
    ce = -np.log(softmax(s)[0, 1])
    np.testing.assert_allclose(distill.kd_loss(labels, s, s * 3, 1.0, 2.0).numpy(), [ce], rtol=1e-5)
    np.testing.assert_allclose(distill.kd_loss(labels, s, s, 0.0, 5.0).numpy(), [0.0], atol=1e-6)


def test_the_studys_loss_without_t_squared_differs_by_exactly_the_t_squared_factor():
    labels = np.array([2, 0])
    s = np.array([[1.0, -0.5, 2.0], [0.3, 0.1, -1.2]], dtype=np.float32)
    t = np.array([[0.5, 0.0, 3.0], [2.0, -1.0, 0.0]], dtype=np.float32)
    T = 40.0
    for alpha in (0.0, 0.1):  # the hard-label term is the same in both
        ce = distill.kd_loss(labels, s, t, 1.0, T).numpy()
        hinton = distill.kd_loss(labels, s, t, alpha, T).numpy() - alpha * ce
        study = distill.kd_loss(labels, s, t, alpha, T, t_squared=False).numpy() - alpha * ce
        np.testing.assert_allclose(hinton, T ** 2 * study, rtol=2e-5)
    np.testing.assert_array_equal(distill.kd_loss(labels, s, t, 0.0, T).numpy(),
                                  np.float32(T ** 2) * distill.kd_loss(labels, s, t, 0.0, T, t_squared=False).numpy())
    assert distill.KDLoss(0.1, T, t_squared=False).get_config()["t_squared"] is False


def test_packing_logits_of_another_split_is_refused():
    with pytest.raises(ValueError, match="different split"):
        distill.pack(np.zeros(3), np.zeros((4, 10)))


def seed_everything(seed):
    """training.configure, except that TF threads can only be set once per process."""
    try:
        training.configure(seed, 1)
    except RuntimeError:
        import tensorflow as tf
        import tf_keras
        tf_keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()


def _train(data, spec, teacher=None, seed=0):
    seed_everything(seed)
    model = models.build(spec, (28, 28, 1))
    args = dict(epochs=2, batch_size=32, optimizer_name="adam", learning_rate=3e-3, augment=False,
                seed=seed, label="test")
    if teacher is None:
        history = training.train_supervised(model, data, **args)
    else:
        logits = {"train": training.predict_logits(teacher, data["x_train"]),
                  "val": training.predict_logits(teacher, data["x_val"])}
        history = distill.train_distilled(model, data, logits, alpha=0.1, temperature=4.0, **args)
    return model, history


def test_teacher_ta_student_chain_runs_end_to_end(tiny_data):
    teacher, _ = _train(tiny_data, [{"conv": 8}, {"dense": 16}])
    ta, _ = _train(tiny_data, [{"conv": 4}, {"dense": 8}], teacher=teacher)
    student, history = _train(tiny_data, [{"conv": 4}], teacher=ta)
    assert {"epoch", "loss", "accuracy", "val_accuracy"} <= set(history.columns)
    assert len(history) == 2
    # Two epochs on 400 images: each distilled model must clearly beat chance (0.1).
    for model in (ta, student):
        assert training.accuracy(model, tiny_data["x_test"], tiny_data["y_test"]) > 0.25


def test_same_seed_gives_bit_identical_weights(tiny_data):
    a, ha = _train(tiny_data, [{"conv": 4}, {"dense": 8}, {"dropout": 0.5}], seed=3)
    b, hb = _train(tiny_data, [{"conv": 4}, {"dense": 8}, {"dropout": 0.5}], seed=3)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert ha.equals(hb)


def _student(seed):
    seed_everything(seed)
    return models.build([{"conv": 4}, {"dense": 8}], (28, 28, 1))


KD = dict(alpha=0.1, temperature=4.0, epochs=1, batch_size=32, optimizer_name="adam", learning_rate=3e-3,
          seed=0, label="test")


def test_an_online_teacher_on_unaugmented_batches_teaches_what_its_stored_logits_do(tiny_data):
    teacher, _ = _train(tiny_data, [{"conv": 8}, {"dense": 16}])
    logits = {"train": training.predict_logits(teacher, tiny_data["x_train"]),
              "val": training.predict_logits(teacher, tiny_data["x_val"])}
    stored = _student(5)
    h_stored = distill.train_distilled(stored, tiny_data, logits, augment=False, **KD)
    online = _student(5)
    h_online = distill.train_distilled_online(online, tiny_data, teacher, augment=False, **KD)
    # The same batches and targets; only the teacher's batch size differs (float rounding).
    for a, b in zip(stored.get_weights(), online.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
    assert list(h_online.columns) == list(h_stored.columns)
    assert all(not w.name.startswith("teacher") for w in online.trainable_weights)


def test_an_online_teacher_distils_on_augmented_batches_and_leaves_the_teacher_untouched(tiny_data):
    teacher, _ = _train(tiny_data, [{"conv": 8}, {"dense": 16}])
    before = [w.copy() for w in teacher.get_weights()]
    student = _student(1)
    history = distill.train_distilled_online(student, tiny_data, teacher, augment=True, **KD | {"epochs": 2})
    assert len(history) == 2 and history["val_accuracy"].iloc[-1] > 0.2
    for a, b in zip(before, teacher.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_stored_logits_with_augmentation_are_refused(tiny_data):
    logits = {"train": np.zeros((400, 10), np.float32), "val": np.zeros((50, 10), np.float32)}
    with pytest.raises(ValueError, match="online teacher"):
        distill.train_distilled(_student(0), tiny_data, logits, augment=True, **KD)
