# brain-errors: report
from torch import nn
from torch.nn import functional as F


class Model(nn.Module):
    def __init__(self, config):
        super().__init__()

    def forward(self, hidden_states, past_key_values=None):
        return F.glu("gate")  # a string where the op table expects a tensor
