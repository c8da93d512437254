import numpy as np
import pytest

from fer_utils import labels as L
from fer_utils.data import load_ckplus, load_ferplus
from tests.conftest import REAL, real_only


def test_majority_label_rules():
    votes = np.array([
        [4, 0, 0, 1, 3, 2, 0, 0, 0, 0],   # neutral
        [0, 3, 3, 0, 0, 0, 0, 0, 4, 0],   # unknown (4) outvotes every emotion (3): unlabelled
        [0, 3, 3, 0, 0, 0, 0, 0, 3, 1],   # unknown + NF = 4 > 3: unlabelled
        [0, 3, 3, 0, 0, 0, 0, 0, 2, 1],   # tie unknown+NF = top (3): labelled; tie -> first class (happiness)
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 10],  # not a face
        [0, 0, 0, 0, 0, 0, 1, 9, 0, 0],   # contempt
    ])
    assert list(L.majority_labels(votes)) == [0, -1, -1, 1, -1, 7]


def test_single_annotator_draws_follow_the_votes():
    votes = np.array([[0, 10, 0, 0, 0, 0, 0, 0, 0, 0], [5, 5, 0, 0, 0, 0, 0, 0, 0, 0],
                      [0, 0, 0, 0, 0, 0, 0, 0, 3, 7]] * 2000)
    a = L.single_annotator_labels(votes, seed=1)
    np.testing.assert_array_equal(a, L.single_annotator_labels(votes, seed=1))  # seeded
    assert not np.array_equal(a, L.single_annotator_labels(votes, seed=2))
    assert (a[0::3] == 1).all() and (a[2::3] == -1).all()
    assert set(a[1::3]) == {0, 1} and abs((a[1::3] == 0).mean() - 0.5) < 0.05


def test_single_annotator_noise_rate_on_ferplus():
    d = load_ferplus("train")
    noisy = L.single_annotator_labels(d.votes, seed=0)
    rate = L.plurality_disagreement(d.votes, noisy)
    if REAL:  # the data README: a random annotator disagrees with the plurality on 21.1% of train images
        assert abs(rate - 0.211) < 0.01
        report = L.noise_report(d.labels, noisy, 8)
        assert 0.22 < report.rate < 0.24  # ties go to the first class for the majority label
        np.testing.assert_allclose(report.matrix.sum(axis=1), 1)
        assert report.matrix[1, 1] > 0.85 and report.matrix[7, 7] < 0.6  # happiness clean, contempt noisy
    else:
        assert 0 < rate < 0.6


def test_noise_report_hand_computed():
    clean = np.array([0, 0, 0, 0, 1, 1, 2, -1])
    noisy = np.array([0, 0, 1, 2, 1, 0, 2, 1])
    r = L.noise_report(clean, noisy, 3)
    assert r.rate == pytest.approx(3 / 7)
    np.testing.assert_allclose(r.matrix, [[0.5, 0.25, 0.25], [0.5, 0.5, 0], [0, 0, 1]])


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.4])
def test_symmetric_noise_realised_rate_and_uniformity(rate):
    clean = np.repeat(np.arange(8), 500)
    clean[:10] = -1
    noisy = L.symmetric_noise(clean, rate, 8, seed=3)
    r = L.noise_report(clean, noisy, 8)
    assert r.rate == pytest.approx(round(rate * 3990) / 3990)
    assert (noisy[:10] == -1).all()
    if rate:
        off = r.matrix[~np.eye(8, dtype=bool)].reshape(8, 7)
        assert np.allclose(off, rate / 7, atol=0.03)  # uniform over the other classes


def test_class_flip_noise_goes_to_the_named_partner():
    names = L.FERPLUS_CLASSES
    clean = np.repeat(np.arange(8), 100)
    noisy = L.class_flip_noise(clean, 0.3, names, seed=0)
    r = L.noise_report(clean, noisy, 8)
    assert r.rate == pytest.approx(0.3)
    assert r.matrix[names.index("fear"), names.index("surprise")] == pytest.approx(0.3)
    assert r.matrix[names.index("anger"), names.index("disgust")] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="not a class"):
        L.class_flip_noise(clean, 0.3, names, seed=0, flips={"fear": "boredom"})


def test_map_labels_by_name():
    src = L.FERPLUS_CLASSES
    fer = np.arange(8)
    abaw = L.map_labels(fer, src, L.ABAW_CLASSES)
    assert [L.ABAW_CLASSES[i] for i in abaw] == ["neutral", "happiness", "surprise", "sadness", "anger",
                                                  "disgust", "fear", "other"]  # contempt plays Other
    ck = L.map_labels(np.array([0, 1, 7, -1]), src, L.CKPLUS_CLASSES)
    assert list(ck) == [-1, L.CKPLUS_CLASSES.index("happiness"), L.CKPLUS_CLASSES.index("contempt"), -1]
    raf = L.map_labels(np.array([6]), L.RAFDB_CLASSES, src)  # RAF-DB 7 'Neutral'
    assert list(raf) == [0]
    back = L.map_labels(abaw, L.ABAW_CLASSES, src)
    np.testing.assert_array_equal(back, fer)
    assert L.canonical("Happy") == "happiness" and L.canonical("SAD") == "sadness"
    with pytest.raises(ValueError, match="labels must lie in"):
        L.map_labels(np.array([8]), src, L.ABAW_CLASSES)


def test_labelled_fraction_split():
    d = load_ferplus("train")
    lab, unl = L.labelled_fraction_split(d.labels, 0.1, seed=0)
    assert len(np.intersect1d(lab, unl)) == 0 and len(lab) + len(unl) == len(d)
    assert (d.labels[lab] >= 0).all() and set(np.flatnonzero(d.labels < 0)) <= set(unl)
    for c in range(8):
        n_c = (d.labels == c).sum()
        assert (d.labels[lab] == c).sum() == max(1, round(0.1 * n_c))
    again, _ = L.labelled_fraction_split(d.labels, 0.1, seed=0)
    np.testing.assert_array_equal(lab, again)
    keep, held = L.stratified_holdout(d.labels, 0.1, seed=0)
    assert len(np.intersect1d(keep, held)) == 0 and len(keep) + len(held) == len(d)


def test_ckplus_subject_kfold_is_subject_independent():
    d = load_ckplus()
    k = 10
    folds = L.subject_kfold(d.subjects, k=k, seed=0)
    assert set(folds) == set(range(k))
    for s in np.unique(d.subjects):
        assert len(set(folds[d.subjects == s])) == 1  # no subject in two folds
    sizes = np.bincount(folds)
    assert sizes.max() - sizes.min() <= np.unique(d.subjects, return_counts=True)[1].max()
    with pytest.raises(ValueError, match="k must be in"):
        L.subject_kfold(d.subjects, k=len(np.unique(d.subjects)) + 1)


@real_only
def test_ckplus_folds_balanced_on_real_data():
    d = load_ckplus()
    sizes = np.bincount(L.subject_kfold(d.subjects, k=10, seed=0))
    assert sizes.min() >= 90 and sizes.max() <= 106  # 981 images / 10


def test_training_labels_by_name():
    votes = np.array([[0, 10, 0, 0, 0, 0, 0, 0, 0, 0]] * 50 + [[6, 4, 0, 0, 0, 0, 0, 0, 0, 0]] * 50)
    majority = L.majority_labels(votes)
    np.testing.assert_array_equal(L.training_labels(votes, majority, "majority", 8, 0), majority)
    single = L.training_labels(votes, majority, "single_annotator", 8, 0)
    assert (single[:50] == 1).all() and set(single[50:]) == {0, 1}
    sym = L.training_labels(votes, majority, "symmetric:0.2", 8, 0)
    assert (sym != majority).sum() == 20
    flip = L.training_labels(votes, majority, "class_flip:0.5", 8, 0)
    assert set(flip[:50]) == {1, 0}  # happiness -> neutral, its confusion partner
    unlabelled = np.array([[0, 3, 0, 0, 0, 0, 0, 0, 7, 0]] * 3)  # FER+ leaves these unlabelled
    assert (L.training_labels(unlabelled, L.majority_labels(unlabelled), "single_annotator", 8, 0) == -1).all()
    for bad in ("noisy", "symmetric", "symmetric:x", "majority:0.1"):
        with pytest.raises(ValueError, match="labels="):
            L.training_labels(votes, majority, bad, 8, 0)


def test_vote_entropy_hand_computed():
    votes = np.array([[10, 0, 0, 0, 0, 0, 0, 0, 0, 0], [5, 5, 0, 0, 0, 0, 0, 0, 0, 0],
                      [1, 1, 1, 1, 1, 1, 1, 1, 2, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 10]])
    h = L.vote_entropy(votes)
    np.testing.assert_allclose(h[:3], [0.0, 1.0, 3.0])
    assert np.isnan(h[3])


def test_vote_distribution_leaves_out_unknown_and_not_a_face():
    votes = np.array([[6, 2, 0, 0, 0, 0, 0, 0, 2, 0], [0, 0, 0, 0, 0, 0, 0, 0, 3, 7]])
    d = L.vote_distribution(votes)
    np.testing.assert_allclose(d[0], [0.75, 0.25, 0, 0, 0, 0, 0, 0])
    assert np.isnan(d[1]).all()


def test_ckplus_splits_of_self_training_are_subject_and_sequence_independent():
    """Every CK+ split a self-training run uses (test fold, validation holdout, training part) shares no
    subject, and so no sequence (three near-identical apex frames each), with any other."""
    from fer_utils.data import load_ckplus
    from fer_utils.papers.self_training.task import SelfTrainingRecipe, _splits
    ck = load_ckplus()
    by_name = {n: (s, q) for n, s, q in zip(ck.names, ck.subjects, ck.sequences)}
    for fold in range(3):
        r = SelfTrainingRecipe(task="self_training", notebook="t", name="x", dataset="ckplus", fold=fold,
                               data="full" if len(ck) > 500 else "sample")
        sp = _splits(r)
        train, select_on, test = sp.labelled, sp.select_on, sp.test
        parts = {"train": train, "valid": select_on, "test": test}
        subjects = {k: {by_name[n][0] for n in d.names} for k, d in parts.items()}
        sequences = {k: {by_name[n][1] for n in d.names} for k, d in parts.items()}
        for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
            assert not subjects[a] & subjects[b], (fold, a, b)
            assert not sequences[a] & sequences[b], (fold, a, b)
        assert len(train) and len(select_on) and len(test)
        assert len(train) + len(select_on) + len(test) == int((ck.labels != ck.class_names.index("contempt")).sum())
        assert "contempt" not in train.class_names   # the paper's protocol excludes it


def test_subject_holdout_holds_out_whole_subjects():
    from fer_utils.labels import subject_holdout
    subjects = np.repeat([f"S{i:03d}" for i in range(20)], 3)
    keep, held = subject_holdout(subjects, 0.1, seed=0)
    assert set(subjects[keep]).isdisjoint(subjects[held]) and len(keep) + len(held) == 60
    assert 3 <= len(held) <= 9   # about a tenth, in whole subjects


def test_crowd_transition_matrix_is_the_mean_vote_distribution_per_majority_class():
    from fer_utils.labels import crowd_transition_matrix
    votes = np.zeros((3, 10), dtype=np.int64)
    votes[0, [0, 1]] = [8, 2]          # majority neutral: 0.8 neutral, 0.2 happiness
    votes[1, [0, 3]] = [6, 4]          # majority neutral: 0.6 neutral, 0.4 sadness
    votes[2, [1]] = [10]               # majority happiness, unanimous
    t = crowd_transition_matrix(votes, np.array([0, 0, 1]))
    assert t[0, :4].tolist() == pytest.approx([0.7, 0.1, 0.0, 0.2])
    assert t[1, 1] == 1.0 and t[5, 5] == 1.0                  # an absent class keeps the identity row
    assert np.allclose(t.sum(1), 1.0)


def test_crowd_matrix_noise_flips_exactly_the_rate_along_the_measured_confusions():
    from fer_utils.labels import crowd_matrix_noise, training_labels
    t = np.eye(3)
    t[0] = [0.5, 0.0, 0.5]             # class 0 is only ever confused with class 2
    t[1] = [0.2, 0.8, 0.0]             # class 1 only with class 0; class 2 never (identity row)
    labels = np.array([0] * 50 + [1] * 50 + [2] * 50 + [-1] * 5)
    noisy = crowd_matrix_noise(labels, t, 0.4, seed=0)
    changed = noisy != labels
    assert changed.sum() <= round(0.4 * 150) and (noisy[-5:] == -1).all()
    assert set(noisy[:50][changed[:50]]) <= {2} and set(noisy[50:100][changed[50:100]]) <= {0}
    assert not changed[100:150].any()                             # no off-diagonal mass: kept
    assert (crowd_matrix_noise(labels, t, 0.4, seed=0) == noisy).all()
    with pytest.raises(ValueError, match="crowd_matrix:<rate>"):
        training_labels(np.zeros((2, 10)), labels[:2], "crowd_matrix", 8, 0)


@real_only
def test_crowd_matrix_noise_on_ferplus_follows_its_single_annotator_confusions():
    from fer_utils.data import load_ferplus
    from fer_utils.labels import crowd_transition_matrix, training_labels
    train = load_ferplus("train")
    noisy = training_labels(train.votes, train.labels, "crowd_matrix:0.4", 8, 0)
    keep = train.labels >= 0
    assert (noisy[keep] != train.labels[keep]).mean() == pytest.approx(0.4, abs=0.01)
    t = crowd_transition_matrix(train.votes, train.labels)
    assert t[0].argsort()[-2] == 3 and t[2].argsort()[-2] in (1, 6)   # neutral -> sadness; surprise -> happy/fear
