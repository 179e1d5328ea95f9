"""Up-down (contrastive wake-sleep) fine-tuning of a DBN: one update, and the epochs with the divergence rule."""
import torch

from .loop import run_epochs


def up_down_step(dbn, top_trainer, v0, labels, learning_rate, generator):
    """One update of up-down (contrastive wake-sleep) fine-tuning, Hinton, Osindero & Teh (2006), on batch ``v0``.

    Wake: a stochastic bottom-up pass through the recognition weights; each untied generative layer learns to
    predict the state below from the state above (delta rule). Top: a CD-k update of the top RBM (``top_trainer``)
    on the penultimate state, joined with the one-hot ``labels`` when the top RBM has label units. Sleep: from the
    end of the top RBM's chain, a stochastic top-down pass through the generative weights; each recognition layer
    learns to predict the state above from the state below. ``dbn`` must be untied (``DBNModule.untie``).

    Parameters
    ----------
    dbn : DBNModule with untied generative layers
    top_trainer : CDTrainer of the top RBM
    v0 : tensor (batch, n_visible); labels : one-hot tensor (batch, n_labels) or None
    learning_rate : float, for the directed layers (the top RBM uses its trainer's)
    generator : torch.Generator

    Returns the top RBM's summed squared reconstruction error on the batch (a tensor).
    """
    lower = dbn.rbms[:-1]
    wake = [v0]
    for rbm in lower:
        wake.append(rbm.sample_h_given_v(wake[-1], generator)[1])
    top_input = wake[-1] if labels is None else torch.cat([wake[-1], labels], 1)
    top_error = top_trainer.step(top_input)
    sleep = [top_trainer.chain_end[:, : wake[-1].shape[1]]]
    for index in reversed(range(len(lower))):
        sleep.append(dbn.generative[index].sample_v_given_h(sleep[-1], generator)[1])
    sleep.reverse()  # sleep[l] is the state of layer l, like wake[l]
    n = v0.shape[0]
    for index, (rbm, gen) in enumerate(zip(lower, dbn.generative)):
        above, below = wake[index + 1], wake[index]
        error = below - gen.mean_v_given_h(above)
        gen.weight.addmm_(above.t(), error, alpha=learning_rate / n)
        gen.visible_bias.add_(error.mean(0), alpha=learning_rate)
        above, below = sleep[index + 1], sleep[index]
        error = above - rbm.prob_h_given_v(below)
        rbm.weight.addmm_(error.t(), below, alpha=learning_rate / n)
        rbm.hidden_bias.add_(error.mean(0), alpha=learning_rate)
    return top_error


@torch.no_grad()
def train_up_down(dbn, top_trainer, data, labels, epochs, batch_size, learning_rate, generator, order_generator,
                  callback=None):
    """Up-down epochs ``epochs`` (a range: the resume position to the end) over ``data`` (n, n_visible), in
    mini-batches shuffled by ``order_generator`` (CPU), with ``labels`` (one-hot rows) or None; see
    :func:`up_down_step`. ``callback(epoch, {'reconstruction_error': ...})`` after every epoch (the top RBM's, per
    element). A non-finite or run-away epoch restores the DBN to the start of that epoch and raises
    TrainingDivergedError."""
    params = list(dbn.parameters())
    n_top = dbn.rbms[-1].n_visible

    def snapshot():
        return [p.detach().clone() for p in params]

    def restore(saved):
        torch._foreach_copy_(params, saved)
        for velocity in top_trainer.velocity:
            velocity.zero_()
        top_trainer.chain = None

    def train_epoch(epoch):
        order = torch.randperm(len(data), generator=order_generator).to(data.device)
        total = torch.zeros((), device=data.device)
        for start in range(0, len(data), batch_size):
            rows = order[start:start + batch_size]
            total += up_down_step(dbn, top_trainer, data[rows], None if labels is None else labels[rows],
                                  learning_rate, generator)
        error = total.item() / max(len(data) * n_top, 1)
        return error, {"reconstruction_error": error}

    def failure(epoch, why):
        return (f"up-down fine-tuning diverged in epoch {epoch}: the parameters or the top RBM's reconstruction "
                f"error {why} (learning_rate={learning_rate}). The DBN keeps the parameters of the start of that "
                "epoch; lower the learning rate")

    run_epochs(epochs, train_epoch, lambda: params, snapshot, restore, failure, callback)
