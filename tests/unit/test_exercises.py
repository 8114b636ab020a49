"""The check cells' harness: passes a right answer, names what is wrong in a wrong one."""
import torch

from kd_helpers import check_function

CASES = [("two rows", (torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]),)),
         ("huge logits", (torch.tensor([[1000.0, 999.0]]),))]


def reference(z):
    return torch.logsumexp(z, dim=-1)


def test_right_answer_passes(capsys):
    def mine(z):
        m = z.max(dim=-1, keepdim=True).values
        return (m + (z - m).exp().sum(dim=-1, keepdim=True).log()).squeeze(-1)
    assert check_function(mine, reference, CASES) is True
    assert "2 of 2 cases pass" in capsys.readouterr().out


def test_wrong_answers_are_named(capsys):
    def naive(z):
        return z.exp().sum(dim=-1).log()  # overflows on the second case
    assert check_function(naive, reference, CASES) is False
    out = capsys.readouterr().out
    assert "ok   two rows" in out and "FAIL huge logits" in out

    def keepdim(z):
        return torch.logsumexp(z, dim=-1, keepdim=True)
    assert check_function(keepdim, reference, CASES) is False
    assert "expected shape (2,), got (2, 1)" in capsys.readouterr().out


def test_exceptions_and_numbers(capsys):
    def broken(z):
        raise IndexError("dim out of range")
    assert check_function(broken, reference, CASES) is False
    assert "raised IndexError: dim out of range" in capsys.readouterr().out
    assert check_function(lambda x: 2.0, lambda x: 2.0, [("a number", (1,))]) is True
    assert check_function(lambda x: torch.tensor(3.0), lambda x: 2.0, [("a number", (1,))]) is False
    assert "expected 2, got 3" in capsys.readouterr().out


def test_not_implemented_is_not_a_failure(capsys):
    def starter(z):
        raise NotImplementedError
    assert check_function(starter, reference, CASES) is None
    assert "not implemented yet" in capsys.readouterr().out
