import torch
from torch import nn


class Model(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.proj = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states, past_key_values=None):
        while hidden_states.norm() > 1:
            hidden_states = self.proj(hidden_states)
        return hidden_states
