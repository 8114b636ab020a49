"""Beyond logits: read a hidden layer with a forward hook, and two losses that make a student's
hidden layer match a teacher's (FitNets' hint loss, and a cosine loss)."""
import torch
import torch.nn.functional as F

from .training import predict_logits


class HiddenRecorder:
    """Keeps the output of one named submodule from the latest forward pass (a forward hook).

        with HiddenRecorder(student, "net.4") as recorder:  # names as in dict(student.named_modules())
            logits = student(x)                          # recorder.output now holds net.4's output for x
        # leaving the block removes the hook (or call recorder.remove())"""

    def __init__(self, model, layer_name, keep_all=False):
        modules = dict(model.named_modules())
        if layer_name not in modules:
            raise ValueError(f"layer_name must name a submodule of the model, got {layer_name!r}; "
                             f"choose from {[n for n in modules if n]}")
        self.output, self.outputs, self.keep_all = None, [], keep_all
        self.handle = modules[layer_name].register_forward_hook(self._keep)

    def _keep(self, module, inputs, output):
        self.output = output
        if self.keep_all:  # every batch's output, flattened, on the CPU: a whole dataset's features
            self.outputs.append(output.detach().flatten(1).cpu())

    def remove(self):
        self.handle.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def hidden_features(model, x, layer_name, batch_size=2000):
    """The output of layer_name for every row of x, in eval mode (dropout off), on the CPU: cache a
    frozen teacher's hidden layer once, exactly like its logits (predict_logits)."""
    with HiddenRecorder(model, layer_name, keep_all=True) as recorder:
        predict_logits(model, x, batch_size)
    return torch.cat(recorder.outputs)


def _regressed(student_hidden, teacher_hidden, regressor):
    """regressor(student_hidden), checked to have the teacher features' shape."""
    prediction = regressor(student_hidden.flatten(1))
    if prediction.shape != teacher_hidden.shape:
        raise ValueError(f"the regressed student features and the teacher features must have the same shape, "
                         f"got {tuple(prediction.shape)} and {tuple(teacher_hidden.shape)}")
    return prediction


def hint_loss(student_hidden, teacher_hidden, regressor):
    """FitNets' hint loss (Romero et al. 2015): mean squared error between regressor(student_hidden),
    a learned map to the teacher's width, and the teacher's hidden features."""
    return F.mse_loss(_regressed(student_hidden, teacher_hidden, regressor), teacher_hidden)


def cosine_loss(student_hidden, teacher_hidden, regressor):
    """1 - cosine similarity between regressor(student_hidden) and the teacher's features, averaged over
    the batch: the same direction, whatever the length (0 when parallel, 2 when opposite; 1 for zeros)."""
    return (1 - F.cosine_similarity(_regressed(student_hidden, teacher_hidden, regressor), teacher_hidden)).mean()
