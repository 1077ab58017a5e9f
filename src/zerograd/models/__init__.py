"""Models: ``Model``, ``Sequential``, the book's ``MLP``, the CLI's ``CNN`` and ``LSTMRegressor``,
``VGG16``, ``ResNet50/101/152``, and the transformer language model ``GPT``."""
from zerograd.models.base import MLP, Model, Sequential
from zerograd.models.gpt import GPT
from zerograd.models.resnet import ResNet, ResNet50, ResNet101, ResNet152
from zerograd.models.small import CNN, LSTMRegressor
from zerograd.models.vgg import VGG16

__all__ = ["Model", "Sequential", "MLP", "CNN", "LSTMRegressor", "VGG16", "ResNet", "ResNet50", "ResNet101",
           "ResNet152", "GPT"]
