"""hierlearn.losses beyond chapter 05: every loss meets bad targets and outputs of the wrong shape with our message, not
torch's, and the functions that take class counts refuse a wrong number of them; one parametrised table."""
import numpy as np, pandas as pd
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hierlearn.losses import (BalancedSoftmaxLoss, ClassBalancedLoss, LDAMLoss, LogitAdjustedLoss, PerSampleLoss, ShotAccuracy,
                              TailAdjustedLoss, check_counts, logit_adjust, shot_accuracy)

COUNTS = [300, 100, 30, 10, 3]
LOSSES = {'class-balanced': lambda: ClassBalancedLoss(COUNTS), 'class-balanced focal': lambda: ClassBalancedLoss(COUNTS, loss='focal'),
          'LDAM': lambda: LDAMLoss(COUNTS), 'logit-adjusted': lambda: LogitAdjustedLoss(COUNTS),
          'logit-adjusted, prior': lambda: LogitAdjustedLoss(prior=np.array(COUNTS) / sum(COUNTS)),
          'balanced softmax': lambda: BalancedSoftmaxLoss(COUNTS)}
X, Y = torch.randn(8, 5), torch.tensor([0, 1, 2, 3, 4, 0, 1, 2])


class PlainCE(PerSampleLoss):
    def per_sample(self, x, y): return F.cross_entropy(x, y, reduction='none')


GROUPS = np.hstack([np.eye(5), np.eye(2)[[0, 0, 1, 1, 1]]])   # 5 classes scored by their own output and one of 2 group outputs

SHAPES = [  # (outputs, targets, regex the ValueError must match): torch raised RuntimeError/IndexError, or nothing, before
    (X, Y[:7], r'^7 targets for 8 predictions'),
    (X[:7], Y, r'^8 targets for 7 predictions'),
    (X, torch.full((8,), 5), r'^target 5 is not a class code 0\.\.4 \(5 classes\)'),
    (X, torch.full((8,), -1), r'^target -1 is not a class code 0\.\.4'),
    (X, torch.full((8,), 1.5), r'whole-number class codes, got 1\.5'),
    (torch.randn(8, 6), Y, r'class_counts has 5 entries but the model outputs 6 classes'),
    (torch.randn(8, 4), Y.clamp(max=3), r'class_counts has 5 entries but the model outputs 4 classes'),
]


@pytest.mark.parametrize('name', LOSSES)
@pytest.mark.parametrize('outputs, targets, message', SHAPES)
def test_every_loss_refuses_bad_targets_and_shapes(name, outputs, targets, message):
    with pytest.raises(ValueError, match=message): LOSSES[name]()(outputs, targets)


@pytest.mark.parametrize('name', LOSSES)
def test_targets_of_another_shape_but_one_per_sample_are_flattened(name):
    "fastai's rule: the targets are flattened, so (2, 4) targets for 8 rows of outputs are one per row"
    loss = LOSSES[name]()
    torch.testing.assert_close(loss(X, Y.reshape(2, 4)), loss(X, Y))


@pytest.mark.parametrize('name', LOSSES)
def test_class_axis_one_with_a_target_per_position(name):
    "Outputs (N, C, H, W) with axis=1 take targets (N, H, W); one position short is refused"
    make = LOSSES[name]
    loss = make()
    loss.axis = 1
    out, targ = torch.randn(2, 5, 3, 3), torch.randint(0, 5, (2, 3, 3))
    assert torch.isfinite(loss(out, targ))
    with pytest.raises(ValueError, match=r'^12 targets for 18 predictions'): loss(out, targ[:, :2])


YT, YP = np.array([0, 0, 1, 1, 2, 2, 2, 2]), np.array([0, 0, 1, 0, 2, 0, 0, 0])

HOSTILE = [  # (call, exception type, regex the message must match)
    (lambda: shot_accuracy(YT, YP, [500, 50]), ValueError, r'classes \[2\] occur in y_true but have no entry in class_counts \(2 entries\)'),
    (lambda: shot_accuracy(YT, np.r_[YP[:-1], 7], [500, 50, 5]), ValueError, r'classes \[7\] occur in y_pred but have no entry in class_counts \(3 entries\)'),
    (lambda: shot_accuracy(['a', 'b'], ['a', 'c'], {'a': 200, 'b': 3}), ValueError, r"classes \['c'\] occur in y_pred"),
    (lambda: shot_accuracy(YT, YP[:3], [500, 50, 5]), ValueError, r'y_true has 8 labels but y_pred has 3'),
    (lambda: ShotAccuracy([500, 50, 5], 'tail'), ValueError, r"'many', 'medium' or 'few'"),
    (lambda: logit_adjust(X, [3, 2]), ValueError, r'class_counts has 2 entries but the model outputs 5 classes'),
    (lambda: logit_adjust(X, prior=[0.5] * 5), ValueError, r'prior must sum to one'),
    (lambda: check_counts([[1, 2], [3, 4]]), ValueError, r'1-D sequence with one count per class'),
    (lambda: check_counts([5]), ValueError, r'at least 2'),
    (lambda: check_counts(pd.Series({'cat': 5, 'dog': 3})), ValueError, r'keyed by labels'),
    (lambda: check_counts({0: 5, 2: 3}), ValueError, r'no entry for \[1\]'),
    (lambda: check_counts({np.int64(0): 5, np.int64(2): 3}), ValueError, r'keyed by integers \[0, 2\] that are not the class codes'),
    (lambda: check_counts({np.str_('cat'): 5, np.str_('dog'): 3}), ValueError, r"keyed by labels \('cat', 'dog'\)"),
    (lambda: LDAMLoss([10, 5, 0]), ValueError, r'classes \[2\] have a count <= 0'),
    (lambda: LDAMLoss(None), ValueError, r'LDAMLoss needs class_counts'),
    (lambda: ClassBalancedLoss(COUNTS, loss='hinge'), ValueError, r"'softmax' or 'focal'"),
    (lambda: BalancedSoftmaxLoss(COUNTS, reduction='avg'), ValueError, r"reduction must be 'mean', 'sum' or 'none', got 'avg'"),
    (lambda: TailAdjustedLoss(nn.CrossEntropyLoss(), COUNTS), TypeError, r'loss must be a PerSampleLoss, got CrossEntropyLoss'),
    (lambda: TailAdjustedLoss(PlainCE(), COUNTS, 'focal'), ValueError, r"mode must be 'balanced_softmax' or 'ldam', got 'focal'"),
    (lambda: TailAdjustedLoss(PlainCE(), COUNTS, targets=np.eye(4)), ValueError, r'class_counts has 5 entries but targets has 4 rows'),
    (lambda: TailAdjustedLoss(PlainCE(), COUNTS, targets=np.eye(5, 6)), ValueError, r'outputs \[5\] score no class'),
    (lambda: TailAdjustedLoss(PlainCE(), COUNTS, targets=np.ones(5)), ValueError, r'targets must be a \(classes × outputs\) matrix, got shape \(5,\)'),
    (lambda: TailAdjustedLoss(PlainCE(), [3, 0, 2, 1, 1]), ValueError, r'classes \[1\] have a count <= 0'),
    (lambda: TailAdjustedLoss(PlainCE(), COUNTS)(torch.randn(8, 6), Y), ValueError, r'targets has 5 columns but the model outputs 6'),
    (lambda: TailAdjustedLoss(PlainCE(), COUNTS, targets=GROUPS)(X, Y), ValueError, r'targets has 7 columns but the model outputs 5'),
    (lambda: TailAdjustedLoss(PlainCE(), COUNTS)(X, torch.full((8,), 5)), ValueError, r'target 5 is not a class code 0\.\.4'),
]


@pytest.mark.parametrize('call, exc, message', HOSTILE)
def test_hostile_input(call, exc, message):
    with pytest.raises(exc, match=message): call()


@pytest.mark.parametrize('mode, chapter_5_loss', [('balanced_softmax', lambda: BalancedSoftmaxLoss(COUNTS)), ('ldam', lambda: LDAMLoss(COUNTS))])
def test_tail_adjusted_cross_entropy_is_chapter_5s_loss(mode, chapter_5_loss):
    cos = torch.rand(8, 5) * 2 - 1
    torch.testing.assert_close(TailAdjustedLoss(PlainCE(), COUNTS, mode)(cos, Y), chapter_5_loss()(cos, Y), atol=1e-4, rtol=1e-4)


def test_tail_adjusted_outputs_count_the_samples_they_score_and_drw_weights_average():
    loss = TailAdjustedLoss(PlainCE(), COUNTS, targets=GROUPS)
    assert loss.shift.exp().round().tolist() == COUNTS + [400, 43]
    ldam = TailAdjustedLoss(PlainCE(), COUNTS, 'ldam', targets=GROUPS)
    assert ldam.margins.argmax() == 4 and torch.isclose(ldam.margins.max(), torch.tensor(0.5))   # the rarest output, the largest margin
    plain = TailAdjustedLoss(PlainCE(), COUNTS)
    base = plain(X, Y)
    plain.weight = torch.full((5,), 3.)   # DRW's weights: a weighted mean, so uniform weights change nothing
    torch.testing.assert_close(plain(X, Y), base)
