"""Training, model-agnostic and quiet (no scikit-learn, no argparse, no printing): the one epoch loop
(:mod:`.loop`), contrastive divergence (:mod:`.cd`), the greedy stack (:mod:`.greedy`), convolutional CD (:mod:`.conv`), classification RBMs (:mod:`.classification`), persistent samplers (:mod:`.samplers`), joint DBM training (:mod:`.dbm`), the rectified rule (:mod:`.rectified`), fine-tuning
(:mod:`.finetune`) and up-down (:mod:`.up_down`). Progress bars and metric reporting are callbacks
``callback(epoch, metrics)`` supplied by the caller; every stateful object has ``state_dict()``."""
from .dbm import DBMConfig, DBMTrainer, train_dbm
from .conv import ConvCDTrainer
from .classification import OBJECTIVES, UNLABELLED_OBJECTIVES, ClassificationTrainer
from .samplers import SAMPLERS, FastPCDTrainer, TemperedTrainer
from .cd import CENTERING_RATE, CDConfig, CDTrainer, split_validation, train_rbm, validation_count
from .finetune import (FineTuneConfig, FineTuneProgress, MomentumSGD, MovingAverage, fine_tune, learning_rate_at,
                       make_optimizer)
from .greedy import SparseRows, StreamedRows, TensorRows, greedy_stack
from .loop import EXPLOSION, PRECISIONS, SCHEDULES, divergence, precision_scope, run_epochs, scheduled_rate
from .rectified import RectifiedLayer, rectified_cd, rectified_rate
from .up_down import train_up_down, up_down_step

__all__ = ["CENTERING_RATE", "CDConfig", "CDTrainer", "ClassificationTrainer", "OBJECTIVES", "UNLABELLED_OBJECTIVES", "SAMPLERS", "FastPCDTrainer", "TemperedTrainer", "ConvCDTrainer", "DBMConfig", "DBMTrainer", "EXPLOSION", "FineTuneConfig", "FineTuneProgress", "MomentumSGD",
           "MovingAverage", "PRECISIONS", "SCHEDULES", "divergence", "fine_tune", "greedy_stack", "learning_rate_at",
           "make_optimizer", "precision_scope", "RectifiedLayer", "rectified_cd", "rectified_rate", "run_epochs",
           "scheduled_rate", "split_validation", "SparseRows", "StreamedRows", "TensorRows", "train_rbm",
           "train_dbm", "train_up_down", "up_down_step", "validation_count"]
