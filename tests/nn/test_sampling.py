"""The rollout's masked sampler: same distribution as MaskedCategorical, never a disallowed action, finite
gradients with masked actions, and a recomputed log-prob equal to the stored one bit for bit."""

import torch
from torchrl.modules import MaskedCategorical

from batpal.nn.sampling import masked_log_prob_entropy, sample_masked


def _inputs(rows: int = 6, actions: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(rows, actions, generator=g) * 2
    mask = torch.rand(rows, actions, generator=g) > 0.4
    mask[:, 0] = True  # at least one allowed action per row
    return logits, mask


def test_log_prob_and_entropy_match_masked_categorical():
    logits, mask = _inputs()
    reference = MaskedCategorical(logits=logits, mask=mask)
    torch.manual_seed(1)
    action, log_prob, log_p = sample_masked(logits, mask)
    torch.testing.assert_close(log_prob, reference.log_prob(action))
    torch.testing.assert_close(log_p.exp(), reference.probs)
    again, entropy = masked_log_prob_entropy(logits, mask, action)
    assert torch.equal(again, log_prob)  # the PPO ratio starts at exactly 1
    torch.testing.assert_close(entropy, reference.entropy())


def test_samples_follow_the_masked_softmax_and_skip_disallowed_actions():
    logits, mask = _inputs(rows=3)
    draws = 40_000
    torch.manual_seed(2)
    action, _, _ = sample_masked(logits.repeat(draws, 1), mask.repeat(draws, 1))
    action = action.view(draws, 3)
    expected = MaskedCategorical(logits=logits, mask=mask).probs  # [3, A]
    for row in range(3):
        freq = torch.bincount(action[:, row], minlength=logits.shape[-1]).float() / draws
        assert bool((freq[~mask[row]] == 0).all())
        assert float((freq - expected[row]).abs().max()) < 0.01  # ~4 standard errors at 40k draws


def test_gradients_stay_finite_with_masked_actions():
    logits, mask = _inputs()
    logits.requires_grad_(True)
    action = torch.zeros(logits.shape[0], dtype=torch.long)
    log_prob, entropy = masked_log_prob_entropy(logits, mask, action)
    (log_prob.sum() + entropy.sum()).backward()
    assert bool(torch.isfinite(logits.grad).all())
    assert bool((logits.grad[~mask] == 0).all())
