import torch
from torch import nn

from transformers.cache_utils import StaticCache


class Model(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config

    def forward(self, hidden_states, past_key_values=None):
        cache = StaticCache(config=self.config, max_cache_len=64)
        return hidden_states
