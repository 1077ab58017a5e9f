"""Layers: ``import zerograd.layers as L``."""
from zerograd.layers.base import Layer
from zerograd.layers.linear import EmbedID, Linear
from zerograd.layers.normalization import BatchNorm, LayerNorm

__all__ = ["Layer", "Linear", "EmbedID", "BatchNorm", "LayerNorm"]
