import torch
from torch import nn


class Model(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(config.bias_size))  # not a config value the analysis knows

    def forward(self, hidden_states, past_key_values=None):
        return hidden_states
