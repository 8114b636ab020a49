"""Check cells for the code-writing exercises: run the learner's function against a reference.

    check_function(my_logsumexp, lambda z: torch.logsumexp(z, dim=1), [("two rows", (z,)), ("huge logits", (z * 1e3,))])

Each case is (a short description, the arguments as a tuple). The check prints one line per case
saying what is wrong (an exception, a shape, the largest difference, a result cut off from the
gradient, an argument changed in place) and returns True when every case passes. Both functions get
copies of the arguments. A function that still raises NotImplementedError (the starter cell of a
handout) gets "not implemented yet", not a failure, so a handout runs top to bottom.
"""
import torch


def _copy(args):
    return tuple(a.detach().clone().requires_grad_(a.requires_grad) if torch.is_tensor(a) else a for a in args)


def _same(a, b):
    a, b = a.detach(), b.detach()
    return a.shape == b.shape and bool(((a == b) | (a.isnan() & b.isnan())).all())


def _compare(got, want, atol, rtol):
    """None if got matches want, else a short sentence saying how it differs."""
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            return f"expected {len(want)} results, got {got!r:.60}"
        problems = [(k, _compare(g, w, atol, rtol)) for k, (g, w) in enumerate(zip(got, want))]
        return next((f"result {k}: {p}" for k, p in problems if p), None)
    if torch.is_tensor(want) and want.requires_grad and not (torch.is_tensor(got) and got.requires_grad):
        return "the result is cut off from the graph (.detach(), .item() or no_grad): no gradient would flow back"
    try:
        torch.testing.assert_close(torch.as_tensor(got).detach().double().cpu(), torch.as_tensor(want).detach().double().cpu(),
                                   atol=atol, rtol=rtol, check_dtype=False, equal_nan=True)
    except (AssertionError, TypeError, ValueError, RuntimeError) as err:
        return " ".join([line for line in str(err).splitlines() if line][:3])  # shape, mismatches, greatest difference
    return None


def check_function(fn, reference, cases, *, atol=1e-5, rtol=1e-4):
    """Run fn(*args) and reference(*args) on each (description, args) case; print what differs.
    Returns True if every case passes, False if any fails, None if fn is not written yet."""
    name = getattr(fn, "__name__", "your function")
    passed = 0
    for description, args in cases:
        want, mine = reference(*_copy(args)), _copy(args)
        try:
            got = fn(*mine)
        except NotImplementedError:
            print(f"{name}: not implemented yet (write it in the exercise cell, then re-run this check)")
            return None
        except Exception as err:  # the learner's bug, reported rather than raised
            print(f"FAIL {description}: {name} raised {type(err).__name__}: {err}")
            continue
        changed = [k for k, (a, b) in enumerate(zip(args, mine)) if torch.is_tensor(a) and not _same(a, b)]
        problem = _compare(got, want, atol, rtol) or (changed and f"argument {changed[0]} was changed in place")
        print(f"FAIL {description}: {problem}" if problem else f"ok   {description}")
        passed += not problem
    print(f"{name}: {passed} of {len(cases)} cases pass")
    return passed == len(cases)
