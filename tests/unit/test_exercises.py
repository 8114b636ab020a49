"""The check cells' harness (kd_helpers.classroom.check_function): passes a right answer and names what
is wrong in a wrong one (values, shapes, exceptions, a result cut off from the graph, an argument
changed in place)."""
import pytest
import torch
import torch.nn.functional as F

import kd_helpers
from kd_helpers import check_function

CASES = [("two rows", (torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]),)),
         ("huge logits", (torch.tensor([[1000.0, 999.0]]),))]


def reference(z):
    return torch.logsumexp(z, dim=-1)


def test_check_function_is_the_classrooms():
    assert kd_helpers.check_function is kd_helpers.classroom.check_function


def test_right_answer_passes(capsys):
    def mine(z):
        m = z.max(dim=-1, keepdim=True).values
        return (m + (z - m).exp().sum(dim=-1, keepdim=True).log()).squeeze(-1)

    assert check_function(mine, reference, CASES) is True
    assert capsys.readouterr().out == "ok   two rows\nok   huge logits\nmine: 2 of 2 cases pass\n"


def test_wrong_values_and_shapes_are_named(capsys):
    def naive(z):
        return z.exp().sum(dim=-1).log()  # overflows on the second case

    assert check_function(naive, reference, CASES) is False
    out = capsys.readouterr().out
    assert "ok   two rows" in out and "FAIL huge logits" in out and "naive: 1 of 2 cases pass" in out

    def keepdim(z):
        return torch.logsumexp(z, dim=-1, keepdim=True)

    assert check_function(keepdim, reference, CASES) is False
    out = capsys.readouterr().out
    assert "FAIL two rows" in out and "shape" in out and "torch.Size([2, 1])" in out and "torch.Size([2])" in out

    def off_by_a_bit(z):
        return torch.logsumexp(z, dim=-1) + 0.01  # within rtol of the huge case, not of the small one

    assert check_function(off_by_a_bit, reference, CASES) is False
    out = capsys.readouterr().out
    assert "FAIL two rows: Tensor-likes are not close!" in out and "Mismatched elements: 2 / 2" in out
    assert "ok   huge logits" in out


def test_a_wrong_value_reports_the_greatest_difference(capsys):
    assert check_function(lambda z: torch.logsumexp(z, dim=-1) + 0.5, reference, CASES[:1]) is False
    assert "Greatest absolute difference: 0.5 at index" in capsys.readouterr().out  # (+ 0.5 is exact in float32)


def test_exceptions_and_plain_numbers(capsys):
    def broken(z):
        raise IndexError("dim out of range")

    assert check_function(broken, reference, CASES) is False
    assert "FAIL two rows: broken raised IndexError: dim out of range" in capsys.readouterr().out
    assert check_function(lambda x: 2.0, lambda x: 2.0, [("a number", (1,))]) is True
    capsys.readouterr()
    assert check_function(lambda x: torch.tensor(3.0), lambda x: 2.0, [("a number", (1,))]) is False
    out = capsys.readouterr().out
    assert "FAIL a number: Scalars are not close!" in out and "Expected 2.0 but got 3.0" in out


def test_tuples_of_results(capsys):
    def both(z):
        return z.max(dim=-1)

    assert check_function(lambda z: tuple(z.max(dim=-1)), lambda z: tuple(both(z)), CASES) is True
    capsys.readouterr()
    assert check_function(lambda z: z.max(dim=-1).values, lambda z: tuple(both(z)), CASES) is False
    assert "expected 2 results" in capsys.readouterr().out


def test_a_detached_loss_is_cut_off_from_the_graph(capsys):
    logits = torch.randn(4, 3, requires_grad=True)
    cases = [("four rows", (logits, torch.tensor([0, 1, 2, 0])))]

    def detached(z, y):
        return F.cross_entropy(z, y).detach()  # the right number, but no gradient reaches z

    def as_a_number(z, y):
        return F.cross_entropy(z, y).item()

    assert check_function(detached, F.cross_entropy, cases) is False
    out = capsys.readouterr().out
    assert "FAIL four rows: the result is cut off from the graph" in out and "no gradient" in out
    assert check_function(as_a_number, F.cross_entropy, cases) is False
    assert "cut off from the graph" in capsys.readouterr().out
    assert check_function(lambda z, y: F.cross_entropy(z, y), F.cross_entropy, cases) is True


def test_an_argument_changed_in_place_is_reported_and_the_callers_tensor_is_safe(capsys):
    z = torch.tensor([[1.0, 2.0, 3.0]])
    kept = z.clone()

    def sneaky(x):
        out = torch.logsumexp(x, dim=-1)
        x.zero_()  # right result, but the learner's function wipes its input
        return out

    assert check_function(sneaky, reference, [("one row", (z,))]) is False
    assert "FAIL one row: argument 0 was changed in place" in capsys.readouterr().out
    assert torch.equal(z, kept)  # check_function passed copies


def test_not_implemented_is_not_a_failure(capsys):
    def starter(z):
        raise NotImplementedError

    assert check_function(starter, reference, CASES) is None
    assert "not implemented yet" in capsys.readouterr().out
