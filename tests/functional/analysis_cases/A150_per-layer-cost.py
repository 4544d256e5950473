import torch
from torch import nn


class Model(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.hidden_size = config.hidden_size
        self.proj = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states, past_key_values=None):
        for layer in range(self.hidden_size):
            if layer * layer > self.hidden_size:  # which layers project: not a count in closed form
                hidden_states = self.proj(hidden_states)
        return hidden_states
