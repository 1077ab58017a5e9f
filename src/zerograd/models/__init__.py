"""Models: ``Model``, ``Sequential``, the book's ``MLP``, and ``VGG16``, ``ResNet50/101/152``."""
from zerograd.models.base import MLP, Model, Sequential
from zerograd.models.resnet import ResNet, ResNet50, ResNet101, ResNet152
from zerograd.models.vgg import VGG16

__all__ = ["Model", "Sequential", "MLP", "VGG16", "ResNet", "ResNet50", "ResNet101", "ResNet152"]
