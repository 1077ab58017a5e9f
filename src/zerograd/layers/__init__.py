"""Layers: ``import zerograd.layers as L``."""
from zerograd.layers.attention import MultiHeadAttention, TransformerBlock
from zerograd.layers.base import Layer, LayerList
from zerograd.layers.conv import Conv2d, Deconv2d
from zerograd.layers.linear import EmbedID, Linear
from zerograd.layers.normalization import BatchNorm, LayerNorm
from zerograd.layers.recurrent import GRU, LSTM, RNN

__all__ = ["Layer", "LayerList", "Linear", "EmbedID", "BatchNorm", "LayerNorm", "Conv2d", "Deconv2d", "RNN", "LSTM", "GRU",
           "MultiHeadAttention", "TransformerBlock"]
