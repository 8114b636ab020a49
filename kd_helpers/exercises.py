"""Check cells for the code-writing exercises: run the learner's function against a reference.

    check_function(my_logsumexp, lambda z: torch.logsumexp(z, dim=1), [("two rows", (z,)), ("huge logits", (z * 1e3,))])

Each case is (a short description, the arguments as a tuple). The check prints one line per
case and says exactly what is wrong (an exception, a shape, NaNs, the largest
difference), and returns True when every case passes. A function that still raises
NotImplementedError (the starter cell of a handout) gets "not implemented yet", not a failure,
so a learner's copy of a notebook runs top to bottom before they have written anything.
"""
import torch


def _compare(got, want, atol, rtol):
    """None if got matches want, else a sentence saying how it differs."""
    if torch.is_tensor(want):
        if not torch.is_tensor(got):
            return f"expected a tensor, got {type(got).__name__}"
        if got.shape != want.shape:
            return f"expected shape {tuple(want.shape)}, got {tuple(got.shape)}"
        got, want = got.detach().double().cpu(), want.detach().double().cpu()
        if torch.isnan(got).any() and not torch.isnan(want).any():
            return f"{int(torch.isnan(got).sum())} NaN value(s) where the reference has none"
        if not torch.allclose(got, want, atol=atol, rtol=rtol, equal_nan=True):
            diff = (got - want).abs().nan_to_num(posinf=float("inf")).max().item()
            return f"values differ from the reference by up to {diff:.3g} (allowed: {atol:g} + {rtol:g} x |value|)"
        return None
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            return f"expected {len(want)} results, got {got!r:.60}"
        for k, (g, w) in enumerate(zip(got, want)):
            problem = _compare(g, w, atol, rtol)
            if problem:
                return f"result {k}: {problem}"
        return None
    got_value = got.item() if torch.is_tensor(got) and got.numel() == 1 else got
    try:
        ok = abs(float(got_value) - float(want)) <= atol + rtol * abs(float(want))
    except (TypeError, ValueError):
        return f"expected a number like {want!r}, got {got!r:.60}"
    return None if ok else f"expected {float(want):.6g}, got {float(got_value):.6g}"


def check_function(fn, reference, cases, *, atol=1e-5, rtol=1e-4):
    """Run fn(*args) and reference(*args) on each (description, args) case; print what differs.

    Returns True if every case passes, False if any fails, None if fn is not written yet."""
    name = getattr(fn, "__name__", "your function")
    passed = 0
    for description, args in cases:
        want = reference(*args)
        try:
            got = fn(*args)
        except NotImplementedError:
            print(f"{name}: not implemented yet (write it in the exercise cell, then re-run this check)")
            return None
        except Exception as err:  # the learner's bug, reported rather than raised
            print(f"FAIL {description}: {name} raised {type(err).__name__}: {err}")
            continue
        problem = _compare(got, want, atol, rtol)
        if problem:
            print(f"FAIL {description}: {problem}")
        else:
            passed += 1
            print(f"ok   {description}")
    print(f"{name}: {passed} of {len(cases)} cases pass")
    return passed == len(cases)
