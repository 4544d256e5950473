import torch
from torch import nn


class Model(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.norm = None
        self.norm.reset_parameters()  # None has no attribute: raises on every path

    def forward(self, hidden_states, past_key_values=None):
        return hidden_states
