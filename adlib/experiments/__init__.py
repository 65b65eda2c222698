"""The experiments the lectures run: functions that return data, and helpers that plot it.

PyTorch experiments: grad modes, a memory-saving custom autograd.Function (the quaternion
linear layer), gradient checkpointing. adlib experiments: vanishing gradients, batch size.
"""

from ._torch_memory import SavedTensorMeter, SavedTensorStats, storage_key
from .batch_size import BatchSizeResult, batch_size_experiment, plot_batch_size
from .checkpointing import CheckpointingResult, checkpointing_experiment, make_deep_mlp
from .custom_function import (
    HAMILTON_BLOCKS,
    QuaternionLinear,
    QuaternionLinearFunction,
    QuaternionMemoryResult,
    assemble_quaternion_weight,
    quaternion_linear_autograd,
    quaternion_memory_experiment,
    reduce_quaternion_grad,
)
from .grad_modes import (
    GRAD_MODES,
    SEED_NET3_SIZES,
    GradModesResult,
    MatmulLayer,
    ModeMeasurement,
    grad_mode_context,
    grad_modes_timing,
    make_matmul_net,
)
from .plotting import plot_checkpointing, plot_grad_modes, plot_quaternion_memory
from .recorded import GradModesRecord, load_grad_modes_record, save_grad_modes_record
from .vanishing import (
    COMPARED_ACTIVATIONS,
    VanishingResult,
    compare_activations,
    plot_vanishing_gradients,
    uniform_init,
    vanishing_gradients,
)
