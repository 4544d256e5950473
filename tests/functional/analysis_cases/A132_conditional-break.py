import torch
from torch import nn


class Model(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.hidden_size = config.hidden_size
        self.proj = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states, past_key_values=None):
        for step in range(3):
            if self.hidden_size > 1024:  # symbolic: known only per config
                break
            hidden_states = self.proj(hidden_states)
        return hidden_states
