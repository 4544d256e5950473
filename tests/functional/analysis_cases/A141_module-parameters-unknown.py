import torch
from torch import nn


class Model(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.mix = nn.Bilinear(config.hidden_size, config.hidden_size, config.hidden_size)

    def forward(self, hidden_states, past_key_values=None):
        return hidden_states
